"""/api/cloudstorages against a real S3 endpoint (moto_server) through the real server:
CRUD, validation (nothing kept on a 400), credentials never returned and stored only
encrypted, permissions, status, content-v2 paging, preview and actions."""

from __future__ import annotations

import io
import json
import os
import stat
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import psycopg
import pytest
from cryptography.fernet import Fernet
from PIL import Image

from tests.api.iam_helpers import PASSWORD, register, set_role
from tests.conftest import Server, api_server

KEY = "AKIAVELLUMTESTKEY001"
SECRET = "s3cr3t-Vellum-Moto-" + uuid.uuid4().hex
TOKEN = "session-token-" + uuid.uuid4().hex


def png(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def s3(endpoint: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


def make_bucket(endpoint: str, objects: dict[str, bytes]) -> str:
    name = f"vellum-{uuid.uuid4().hex[:12]}"
    client = s3(endpoint)
    client.create_bucket(Bucket=name)
    for key, data in objects.items():
        client.put_object(Bucket=name, Key=key, Body=data)
    return name


def manifest(items: list[tuple[str, int, int]]) -> bytes:
    lines = [{"version": "1.1"}, {"type": "images"}]
    for name, width, height in items:
        stem, ext = os.path.splitext(name)
        lines.append({"name": stem, "extension": ext, "width": width, "height": height,
                      "meta": {"related_images": []}})  # fmt: skip
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


@pytest.fixture(scope="module")
def cloud_server(services: Any, template_db: str, s3_endpoint: str) -> Iterator[Server]:
    """Empty VELLUM_SECRET_KEY: the key is generated into DATA_DIR/secret.key."""
    with api_server(services, template_db, redis_db=6, url_allowlist="127.0.0.1") as running:
        yield running


@pytest.fixture
def admin(cloud_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cloud_server.url, auth=cloud_server.admin, timeout=30) as client:
        yield client


def storage_body(endpoint: str, bucket: str, **fields: Any) -> dict[str, Any]:
    return {
        "provider_type": "AWS_S3_BUCKET", "resource": bucket,
        "display_name": f"bucket {bucket}", "credentials_type": "KEY_SECRET_KEY_PAIR",
        "key": KEY, "secret_key": SECRET, "session_token": TOKEN,
        "specific_attributes": f"endpoint_url={endpoint}&region=us-east-1", **fields,
    }  # fmt: skip


def no_secret(response: httpx.Response) -> None:
    for secret in (SECRET, TOKEN, KEY):
        assert secret not in response.text, response.request.url
        assert not any(secret in v for v in response.headers.values())


def count(client: httpx.Client) -> int:
    r = client.get("/api/cloudstorages", params={"page_size": "all"})
    assert r.status_code == 200, r.text
    return int(r.json()["count"])


def test_crud_never_returns_credentials(admin: httpx.Client, s3_endpoint: str) -> None:
    bucket = make_bucket(s3_endpoint, {"manifest.jsonl": manifest([("a.png", 4, 3)]),
                                       "a.png": png(4, 3, (1, 2, 3))})  # fmt: skip
    body = storage_body(s3_endpoint, bucket, description="raw frames", manifests=["manifest.jsonl"])
    created = admin.post("/api/cloudstorages", json=body)
    assert created.status_code == 201, created.text
    no_secret(created)
    item = created.json()
    sid = item["id"]
    assert item["provider_type"] == "AWS_S3_BUCKET" and item["resource"] == bucket
    assert item["credentials_type"] == "KEY_SECRET_KEY_PAIR"
    assert item["manifests"] == ["manifest.jsonl"] and item["description"] == "raw frames"
    assert item["owner"]["username"] == "admin" and item["organization"] is None
    assert item["specific_attributes"] == body["specific_attributes"]
    assert not {"key", "secret_key", "session_token", "credentials"} & set(item)

    one = admin.get(f"/api/cloudstorages/{sid}")
    assert one.status_code == 200 and one.json() == item
    no_secret(one)
    listed = admin.get("/api/cloudstorages", params={"name": item["display_name"]})
    assert [s["id"] for s in listed.json()["results"]] == [sid]
    no_secret(listed)
    searched = admin.get("/api/cloudstorages", params={"search": bucket})
    assert [s["id"] for s in searched.json()["results"]] == [sid]
    none = admin.get("/api/cloudstorages", params={"provider_type": "AZURE_CONTAINER",
                                                    "search": bucket})  # fmt: skip
    assert none.json()["count"] == 0

    patched = admin.patch(f"/api/cloudstorages/{sid}",
                          json={"display_name": "renamed", "description": ""})  # fmt: skip
    assert patched.status_code == 200, patched.text
    assert patched.json()["display_name"] == "renamed" and patched.json()["description"] == ""
    assert patched.json()["updated_date"] >= item["updated_date"]
    no_secret(patched)
    # New credentials: write-only too, and the storage still works with them.
    rekeyed = admin.patch(f"/api/cloudstorages/{sid}",
                          json={"key": KEY, "secret_key": SECRET + "-2"})  # fmt: skip
    assert rekeyed.status_code == 200, rekeyed.text
    assert SECRET + "-2" not in rekeyed.text
    assert admin.get(f"/api/cloudstorages/{sid}/status").json() == "AVAILABLE"
    anonymous = admin.patch(f"/api/cloudstorages/{sid}",
                            json={"credentials_type": "ANONYMOUS_ACCESS"})  # fmt: skip
    assert (
        anonymous.status_code == 200 and anonymous.json()["credentials_type"] == "ANONYMOUS_ACCESS"
    )
    back = admin.patch(
        f"/api/cloudstorages/{sid}", json={"credentials_type": "KEY_SECRET_KEY_PAIR"}
    )
    assert back.status_code == 400 and "key" in back.json()  # the old key was dropped
    for path in ("status", "actions", "content-v2", "preview"):
        no_secret(admin.get(f"/api/cloudstorages/{sid}/{path}"))

    gone = admin.delete(f"/api/cloudstorages/{sid}")
    assert gone.status_code == 204
    assert admin.get(f"/api/cloudstorages/{sid}").status_code == 404
    assert admin.get(f"/api/cloudstorages/{sid}/status").status_code == 404


def test_credentials_are_stored_encrypted(
    admin: httpx.Client, cloud_server: Server, s3_endpoint: str
) -> None:
    bucket = make_bucket(s3_endpoint, {})
    created = admin.post("/api/cloudstorages", json=storage_body(s3_endpoint, bucket))
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    with psycopg.connect(cloud_server.database_url) as conn:
        events = conn.execute(
            "SELECT type, data FROM events WHERE stream_id = %s", [f"cloudstorage-{sid}"]
        ).fetchall()
        (token,) = conn.execute(
            "SELECT credentials FROM cloud_storages WHERE id = %s", [sid]
        ).fetchone() or (None,)
        logged = conn.execute("SELECT count(*) FROM events WHERE data::text LIKE %s",
                              [f"%{SECRET}%"]).fetchone()  # fmt: skip
    assert [e[0] for e in events] == ["CloudStorageCreated"]
    for _, data in events:
        raw = bytes(data)
        assert SECRET.encode() not in raw and KEY.encode() not in raw
        assert TOKEN.encode() not in raw
    assert logged == (0,)
    assert token and SECRET not in token and KEY not in token
    # The generated key: owner-only, and it opens exactly what the events carry.
    key_file = Path(cloud_server.data_dir) / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    plain = json.loads(Fernet(key_file.read_bytes().strip()).decrypt(token.encode()))
    assert plain["key"] == KEY and plain["secret_key"] == SECRET
    assert plain["session_token"] == TOKEN
    event_token = json.loads(bytes(events[0][1]))["fields"]["credentials"]
    assert event_token == token
    log = (Path(cloud_server.data_dir) / "serve.log").read_text()
    assert SECRET not in log and TOKEN not in log


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"display_name": ""}, "display_name", "blank"),
        ({"resource": "Bad_Bucket!"}, "resource", "Invalid characters"),
        ({"resource": "no-such-bucket-vellum"}, "resource", "does not exist"),
        ({"manifests": ["missing/manifest.jsonl"]}, "manifests", "missing/manifest.jsonl"),
        ({"manifests": ["list.txt"]}, "manifests", "list.txt"),
        ({"secret_key": ""}, "secret_key", "required"),
        ({"credentials_type": "ACCOUNT_NAME_TOKEN_PAIR"}, "credentials_type", "cannot be used"),
        ({"provider_type": "AZURE_CONTAINER"}, "provider_type", "not supported yet"),
        ({"provider_type": "GOOGLE_CLOUD_STORAGE"}, "provider_type", "not supported yet"),
        ({"provider_type": "DROPBOX"}, "provider_type", "DROPBOX"),
        ({"specific_attributes": "endpoint_url=http://10.11.12.13:9000"},
         "specific_attributes", "VELLUM_URL_ALLOWLIST"),
        ({"specific_attributes": "endpoint_url=ftp://x"}, "specific_attributes", "http(s)"),
        ({"specific_attributes": "region"}, "specific_attributes", "key=value"),
        ({"specific_attributes": "colour=blue"}, "specific_attributes", "colour"),
        ({"specific_attributes": "prefix=/abs/"}, "specific_attributes", "forward slash"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_field_and_keeps_nothing(
    admin: httpx.Client, s3_endpoint: str, change: dict[str, Any], field: str, words: str
) -> None:
    bucket = make_bucket(s3_endpoint, {})
    before = count(admin)
    body = storage_body(s3_endpoint, bucket)
    body.update(change)
    r = admin.post("/api/cloudstorages", json=body)
    assert r.status_code == 400, r.text
    assert field in r.json(), r.text
    assert words in json.dumps(r.json()), r.text
    no_secret(r)
    assert count(admin) == before


def test_missing_required_fields(admin: httpx.Client) -> None:
    r = admin.post("/api/cloudstorages", json={"provider_type": "AWS_S3_BUCKET"})
    assert r.status_code == 400 and r.json().keys() & {"resource", "display_name",
                                                        "credentials_type"}  # fmt: skip


def test_patch_validates_the_bucket_and_manifests(admin: httpx.Client, s3_endpoint: str) -> None:
    bucket = make_bucket(s3_endpoint, {"m.jsonl": manifest([])})
    sid = admin.post("/api/cloudstorages", json=storage_body(s3_endpoint, bucket)).json()["id"]
    r = admin.patch(f"/api/cloudstorages/{sid}", json={"manifests": ["nope.jsonl"]})
    assert r.status_code == 400 and "nope.jsonl" in r.json()["manifests"][0]
    r = admin.patch(f"/api/cloudstorages/{sid}", json={"resource": "vellum-none-such"})
    assert r.status_code == 400 and "resource" in r.json()
    r = admin.patch(f"/api/cloudstorages/{sid}", json={"provider_type": "AZURE_CONTAINER"})
    assert r.status_code == 400 and "provider_type" in r.json()
    r = admin.patch(f"/api/cloudstorages/{sid}", json={"manifests": ["m.jsonl"]})
    assert r.status_code == 200 and r.json()["manifests"] == ["m.jsonl"]
    current = admin.get(f"/api/cloudstorages/{sid}").json()
    assert current["resource"] == bucket and current["provider_type"] == "AWS_S3_BUCKET"


def test_anonymous_access(admin: httpx.Client, s3_endpoint: str) -> None:
    bucket = make_bucket(s3_endpoint, {"x.png": png(2, 2, (0, 0, 0))})
    body = storage_body(s3_endpoint, bucket, credentials_type="ANONYMOUS_ACCESS")
    for name in ("key", "secret_key", "session_token"):
        body.pop(name)
    r = admin.post("/api/cloudstorages", json=body)
    assert r.status_code == 201, r.text
    listing = admin.get(f"/api/cloudstorages/{r.json()['id']}/content-v2").json()
    assert listing["content"] == [{"name": "x.png", "type": "REG", "mime_type": "image"}]


def test_other_users_neither_see_nor_use_a_storage(
    admin: httpx.Client, cloud_server: Server, s3_endpoint: str
) -> None:
    bucket = make_bucket(s3_endpoint, {"a.png": png(2, 2, (9, 9, 9))})
    owner = register(cloud_server.url)
    other = register(cloud_server.url)
    owner_http = httpx.Client(base_url=cloud_server.url, auth=(str(owner["username"]), PASSWORD))
    other_http = httpx.Client(base_url=cloud_server.url, auth=(str(other["username"]), PASSWORD))
    created = owner_http.post("/api/cloudstorages", json=storage_body(s3_endpoint, bucket))
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    assert created.json()["owner"]["username"] == owner["username"]

    assert sid in [s["id"] for s in owner_http.get("/api/cloudstorages").json()["results"]]
    everything = admin.get("/api/cloudstorages", params={"page_size": "all"}).json()
    assert sid in [s["id"] for s in everything["results"]]
    assert other_http.get("/api/cloudstorages").json()["count"] == 0
    for path in ("", "/status", "/content-v2", "/preview", "/actions"):
        assert other_http.get(f"/api/cloudstorages/{sid}{path}").status_code == 404, path
    assert (
        other_http.patch(f"/api/cloudstorages/{sid}", json={"display_name": "x"}).status_code == 404
    )
    assert other_http.delete(f"/api/cloudstorages/{sid}").status_code == 404
    assert owner_http.get(f"/api/cloudstorages/{sid}/status").json() == "AVAILABLE"

    # A worker may use nothing and attach nothing.
    worker = register(cloud_server.url)
    set_role(cloud_server.url, cloud_server.admin, int(str(worker["id"])), "worker")
    worker_http = httpx.Client(base_url=cloud_server.url, auth=(str(worker["username"]), PASSWORD))
    r = worker_http.post("/api/cloudstorages", json=storage_body(s3_endpoint, bucket))
    assert r.status_code == 403


def test_status_follows_the_bucket(admin: httpx.Client, s3_endpoint: str) -> None:
    bucket = make_bucket(s3_endpoint, {})
    sid = admin.post("/api/cloudstorages", json=storage_body(s3_endpoint, bucket)).json()["id"]
    assert admin.get(f"/api/cloudstorages/{sid}/status").json() == "AVAILABLE"
    # The endpoint starts checking signatures: our key is unknown to it.
    _set_moto_auth(s3_endpoint, "0")
    try:
        assert admin.get(f"/api/cloudstorages/{sid}/status").json() == "FORBIDDEN"
        r = admin.get(f"/api/cloudstorages/{sid}/content-v2")
        assert r.status_code == 403 and bucket in r.text
        r = admin.post("/api/cloudstorages", json=storage_body(s3_endpoint, bucket))
        assert r.status_code == 400 and "forbidden" in r.json()["credentials"][0]
    finally:
        _set_moto_auth(s3_endpoint, "inf")
    s3(s3_endpoint).delete_bucket(Bucket=bucket)
    assert admin.get(f"/api/cloudstorages/{sid}/status").json() == "NOT_FOUND"
    r = admin.get(f"/api/cloudstorages/{sid}/content-v2")
    assert r.status_code == 404 and bucket in r.text


def _set_moto_auth(endpoint: str, initial_no_auth_count: str) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=initial_no_auth_count.encode(),
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_content_v2_pages_through_one_level(admin: httpx.Client, s3_endpoint: str) -> None:
    objects = {f"img_{i}.png": b"x" for i in range(5)}
    objects |= {"sub/a.jpg": b"x", "sub/deeper/b.mp4": b"x", "other/c.zip": b"x",
                "notes.txt": b"x"}  # fmt: skip
    bucket = make_bucket(s3_endpoint, objects)
    sid = admin.post("/api/cloudstorages", json=storage_body(s3_endpoint, bucket)).json()["id"]
    url = f"/api/cloudstorages/{sid}/content-v2"

    seen: list[dict[str, str]] = []
    token: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"page_size": 3}
        if token:
            params["next_token"] = token
        r = admin.get(url, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["content"]) <= 3
        seen += body["content"]
        pages += 1
        token = body["next"]
        if not token:
            break
    assert pages >= 3
    kinds = {e["name"]: (e["type"], e["mime_type"]) for e in seen}
    assert kinds == {
        **{f"img_{i}.png": ("REG", "image") for i in range(5)}, "notes.txt": ("REG", "unknown"),
        "sub": ("DIR", "DIR"), "other": ("DIR", "DIR"),
    }  # fmt: skip
    assert len(seen) == len(kinds)

    sub = admin.get(url, params={"prefix": "sub/"}).json()
    assert sub == {"content": [{"name": "deeper", "type": "DIR", "mime_type": "DIR"},
                               {"name": "a.jpg", "type": "REG", "mime_type": "image"}],
                   "next": None}  # fmt: skip
    deeper = admin.get(url, params={"prefix": "/sub/deeper/"}).json()
    assert deeper["content"] == [{"name": "b.mp4", "type": "REG", "mime_type": "video"}]
    archive = admin.get(url, params={"prefix": "other/"}).json()
    assert archive["content"][0]["mime_type"] == "archive"
    assert admin.get(url, params={"page_size": 0}).status_code == 400
    bad = admin.get(url, params={"next_token": "not-a-token"})
    assert bad.status_code == 400


def test_content_v2_from_a_manifest(admin: httpx.Client, s3_endpoint: str) -> None:
    items = [("frames/f1.png", 4, 4), ("frames/f2.png", 4, 4), ("top.png", 4, 4)]
    bucket = make_bucket(s3_endpoint, {"data/manifest.jsonl": manifest(items)})
    body = storage_body(s3_endpoint, bucket, manifests=["data/manifest.jsonl"])
    sid = admin.post("/api/cloudstorages", json=body).json()["id"]
    url = f"/api/cloudstorages/{sid}/content-v2"
    root = admin.get(url, params={"manifest_path": "data/manifest.jsonl", "prefix": "data/"})
    assert root.status_code == 200, root.text
    assert [(e["name"], e["type"]) for e in root.json()["content"]] == [
        ("frames", "DIR"),
        ("top.png", "REG"),
    ]
    first = admin.get(url, params={"manifest_path": "data/manifest.jsonl",
                                   "prefix": "data/frames/", "page_size": 1}).json()  # fmt: skip
    assert [e["name"] for e in first["content"]] == ["f1.png"] and first["next"]
    second = admin.get(url, params={"manifest_path": "data/manifest.jsonl",
                                    "prefix": "data/frames/", "page_size": 1,
                                    "next_token": first["next"]}).json()  # fmt: skip
    assert [e["name"] for e in second["content"]] == ["f2.png"] and second["next"] is None
    r = admin.get(url, params={"manifest_path": "elsewhere.jsonl"})
    assert r.status_code == 400 and "manifest_path" in r.json()


def test_preview_and_actions(admin: httpx.Client, s3_endpoint: str) -> None:
    objects = {"readme.txt": b"hello", "deep/z.png": png(640, 480, (0, 200, 0)),
               "a.png": png(600, 300, (250, 0, 0))}  # fmt: skip
    bucket = make_bucket(s3_endpoint, objects)
    sid = admin.post("/api/cloudstorages", json=storage_body(s3_endpoint, bucket)).json()["id"]
    r = admin.get(f"/api/cloudstorages/{sid}/preview")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(r.content)) as image:
        assert image.format == "JPEG" and max(image.size) <= 256
        assert image.size == (256, 128)
        red, green, _ = image.convert("RGB").getpixel((10, 10))
        assert red > 200 and green < 60
    actions = admin.get(f"/api/cloudstorages/{sid}/actions")
    assert actions.status_code == 200 and sorted(actions.json()) == ["read", "write"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
         "Resource": f"arn:aws:s3:::{bucket}/*"}]}  # fmt: skip
    s3(s3_endpoint).put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    assert admin.get(f"/api/cloudstorages/{sid}/actions").json() == ["read"]

    empty = make_bucket(s3_endpoint, {"notes.txt": b"x"})
    eid = admin.post("/api/cloudstorages", json=storage_body(s3_endpoint, empty)).json()["id"]
    r = admin.get(f"/api/cloudstorages/{eid}/preview")
    assert r.status_code == 404 and empty in r.text


def test_preview_prefers_the_manifest(admin: httpx.Client, s3_endpoint: str) -> None:
    objects = {"a.png": png(8, 8, (255, 0, 0)), "m/z.png": png(8, 8, (0, 0, 255)),
               "m/manifest.jsonl": manifest([("z.png", 8, 8)])}  # fmt: skip
    bucket = make_bucket(s3_endpoint, objects)
    body = storage_body(s3_endpoint, bucket, manifests=["m/manifest.jsonl"])
    sid = admin.post("/api/cloudstorages", json=body).json()["id"]
    r = admin.get(f"/api/cloudstorages/{sid}/preview")
    assert r.status_code == 200
    with Image.open(io.BytesIO(r.content)) as image:
        red, _, blue = image.convert("RGB").getpixel((4, 4))
        assert blue > 200 and red < 60


def test_openapi_documents_write_only_credentials(admin: httpx.Client) -> None:
    schema = admin.get("/api/schema/", params={"format": "json"})
    assert schema.status_code == 200
    text = schema.text
    assert "/api/cloudstorages/{id}/content-v2" in text
    spec = schema.json()
    write = spec["components"]["schemas"]["CloudStorageWrite"]["properties"]["secret_key"]
    assert write.get("writeOnly") is True or any(s.get("writeOnly") for s in write.get("anyOf", []))


def test_read_model_rebuilds_from_the_events(
    admin: httpx.Client, cloud_server: Server, s3_endpoint: str
) -> None:
    import asyncio

    from backend.projections.cloudstorages import CloudStoragesProjection
    from backend.projections.replay import replay_and_compare

    kept = admin.post(
        "/api/cloudstorages", json=storage_body(s3_endpoint, make_bucket(s3_endpoint, {}))
    )
    gone = admin.post(
        "/api/cloudstorages", json=storage_body(s3_endpoint, make_bucket(s3_endpoint, {}))
    )
    assert kept.status_code == gone.status_code == 201
    admin.patch(f"/api/cloudstorages/{kept.json()['id']}", json={"description": "after"})
    admin.delete(f"/api/cloudstorages/{gone.json()['id']}")
    report = asyncio.run(replay_and_compare(cloud_server.database_url, [CloudStoragesProjection()]))
    assert report.identical, report


def test_preview_of_a_large_jpeg(admin: httpx.Client, s3_endpoint: str) -> None:
    out = io.BytesIO()
    Image.new("RGB", (2400, 1200), (0, 0, 230)).save(out, format="JPEG", quality=90)
    sid = admin.post(
        "/api/cloudstorages",
        json=storage_body(s3_endpoint, make_bucket(s3_endpoint, {"big.jpg": out.getvalue()})),
    ).json()["id"]
    r = admin.get(f"/api/cloudstorages/{sid}/preview")
    assert r.status_code == 200, r.text
    with Image.open(io.BytesIO(r.content)) as image:
        assert image.size == (256, 128)
        _, _, blue = image.convert("RGB").getpixel((100, 60))
        assert blue > 200
