"""Tasks created from a bucket (`cloud_storage_id` + `server_files`) through the real
server, its worker and a real S3 endpoint (moto_server): with a manifest, from a prefix,
through cvat-sdk, and the failures (each names the object, keeps nothing)."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.api.iam_helpers import PASSWORD, register
from tests.api.test_cloudstorages import make_bucket, manifest, png, storage_body
from tests.conftest import Server, api_server


@pytest.fixture(scope="module")
def cloud_server(services: Any, template_db: str, s3_endpoint: str) -> Iterator[Server]:
    with api_server(
        services, template_db, redis_db=6, url_allowlist="127.0.0.1",
        secret_key="a test secret, not a real one", max_upload_mb="5",
    ) as running:  # fmt: skip
        yield running


@pytest.fixture
def admin(cloud_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cloud_server.url, auth=cloud_server.admin, timeout=30) as client:
        yield client


def new_storage(http: httpx.Client, endpoint: str, objects: dict[str, bytes], **fields: Any) -> int:
    bucket = make_bucket(endpoint, objects)
    r = http.post("/api/cloudstorages", json=storage_body(endpoint, bucket, **fields))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def new_task(http: httpx.Client) -> int:
    r = http.post("/api/tasks", json={"name": "from a bucket", "labels": [{"name": "car"}]})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def wait(http: httpx.Client, rq_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = http.get(f"/api/requests/{rq_id}").json()
        if body["status"] in ("finished", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"request {rq_id} did not end")


def create(http: httpx.Client, task_id: int, **params: Any) -> dict[str, Any]:
    r = http.post(f"/api/tasks/{task_id}/data/", json={"image_quality": 80, **params})
    assert r.status_code == 202, r.text
    return wait(http, r.json()["rq_id"])


def frames(http: httpx.Client, task_id: int) -> list[tuple[str, int, int]]:
    meta = http.get(f"/api/tasks/{task_id}/data/meta")
    assert meta.status_code == 200, meta.text
    return [(f["name"], f["width"], f["height"]) for f in meta.json()["frames"]]


IMAGES = {
    "frames/b.png": png(30, 20, (0, 255, 0)),
    "frames/a.png": png(40, 10, (255, 0, 0)),
    "frames/c.png": png(16, 16, (0, 0, 255)),
}


def test_task_from_a_manifest(admin: httpx.Client, s3_endpoint: str) -> None:
    listed = [("frames/b.png", 30, 20), ("frames/a.png", 40, 10)]
    objects = {**IMAGES, "manifest.jsonl": manifest(listed)}
    sid = new_storage(admin, s3_endpoint, objects, manifests=["manifest.jsonl"])
    task_id = new_task(admin)
    done = create(admin, task_id, server_files=["manifest.jsonl"], cloud_storage_id=sid)
    assert done["status"] == "finished", done
    # The manifest's files, not the bucket's: frames/c.png is not listed.
    assert frames(admin, task_id) == [("frames/a.png", 40, 10), ("frames/b.png", 30, 20)]
    frame = admin.get(f"/api/tasks/{task_id}/data", params={"type": "frame", "number": 0})
    with Image.open(io.BytesIO(frame.content)) as image:
        red, green, _ = image.convert("RGB").getpixel((5, 5))
        assert red > 200 and green < 60
    original = admin.get(f"/api/tasks/{task_id}/data",
                         params={"type": "frame", "number": 1, "quality": "original"})  # fmt: skip
    assert original.content == IMAGES["frames/b.png"]
    assert admin.get(f"/api/tasks/{task_id}").json()["size"] == 2


def test_task_from_a_manifest_in_a_directory_with_a_pattern(
    admin: httpx.Client, s3_endpoint: str
) -> None:
    objects = {"set/x1.png": png(8, 8, (1, 1, 1)), "set/y1.png": png(9, 9, (1, 1, 1)),
               "set/manifest.jsonl": manifest([("x1.png", 8, 8), ("y1.png", 9, 9)])}  # fmt: skip
    sid = new_storage(admin, s3_endpoint, objects, manifests=["set/manifest.jsonl"])
    task_id = new_task(admin)
    done = create(admin, task_id, server_files=["set/manifest.jsonl"], cloud_storage_id=sid,
                  filename_pattern="*/y*")  # fmt: skip
    assert done["status"] == "finished", done
    assert frames(admin, task_id) == [("set/y1.png", 9, 9)]


def test_task_from_a_prefix_without_a_manifest(admin: httpx.Client, s3_endpoint: str) -> None:
    objects = {**IMAGES, "frames/skip/d.png": png(5, 5, (0, 0, 0)),
               "frames/readme.txt": b"not media", "top.png": png(7, 7, (0, 0, 0))}  # fmt: skip
    sid = new_storage(admin, s3_endpoint, objects)
    task_id = new_task(admin)
    done = create(admin, task_id, server_files=["frames/"], cloud_storage_id=sid,
                  server_files_exclude=["frames/skip/"], sorting_method="natural")  # fmt: skip
    assert done["status"] == "finished", done
    assert frames(admin, task_id) == [
        ("frames/a.png", 40, 10), ("frames/b.png", 30, 20), ("frames/c.png", 16, 16)
    ]  # fmt: skip


def test_task_from_named_files(admin: httpx.Client, s3_endpoint: str) -> None:
    sid = new_storage(admin, s3_endpoint, {**IMAGES, "top.png": png(7, 6, (0, 0, 0))})
    task_id = new_task(admin)
    done = create(admin, task_id, server_files=["top.png", "frames/c.png"], cloud_storage_id=sid)
    assert done["status"] == "finished", done
    assert frames(admin, task_id) == [("frames/c.png", 16, 16), ("top.png", 7, 6)]


@pytest.mark.parametrize(
    ("objects", "server_files", "words"),
    [
        ({"a.png": png(4, 4, (0, 0, 0))}, ["a.png", "missing.png"], "missing.png"),
        ({"notes.txt": b"hello"}, ["notes.txt"], "notes.txt"),
        ({"m.jsonl": b'{"version":"1.1"}\n{"type":"images"}\n{"name": 5}\n'}, ["m.jsonl"],
         "m.jsonl: line 3"),
        ({"m.jsonl": manifest([("a.png", 4, 4)]), "a.png": png(4, 4, (0, 0, 0)),
          "b.png": png(4, 4, (0, 0, 0))}, ["m.jsonl", "b.png"], "'b.png' is not listed"),
        ({"m.jsonl": manifest([("gone.png", 4, 4)])}, ["m.jsonl"], "gone.png"),
        ({"a.png": png(4, 4, (0, 0, 0))}, ["empty/"], "empty/"),
        ({"big.bin": b"\0" * (6 * 2**20)}, ["big.bin"], "big.bin"),
        ({f"p/{n}.bin": b"\0" * (2 * 2**20) for n in "abc"}, ["p/"], "add up to more than"),
    ],
)  # fmt: skip
def test_failures_name_the_object_and_keep_nothing(
    admin: httpx.Client, s3_endpoint: str, objects: dict[str, bytes], server_files: list[str],
    words: str,
) -> None:  # fmt: skip
    sid = new_storage(admin, s3_endpoint, objects)
    task_id = new_task(admin)
    done = create(admin, task_id, server_files=server_files, cloud_storage_id=sid)
    assert done["status"] == "failed", done
    assert words in done["message"], done["message"]
    assert admin.get(f"/api/tasks/{task_id}/data/meta").status_code == 404
    assert admin.get(f"/api/tasks/{task_id}").json()["size"] == 0


def test_request_time_refusals(admin: httpx.Client, cloud_server: Server, s3_endpoint: str) -> None:
    sid = new_storage(admin, s3_endpoint, IMAGES)
    task_id = new_task(admin)
    url = f"/api/tasks/{task_id}/data/"
    r = admin.post(url, json={"cloud_storage_id": sid})
    assert r.status_code == 400 and "server_files" in r.json()
    r = admin.post(url, json={"cloud_storage_id": 10**9, "server_files": ["frames/"]})
    assert r.status_code == 400 and "cloud_storage_id" in r.json()
    r = admin.post(url, json={"cloud_storage_id": sid, "server_files": ["a.png"],
                              "remote_files": ["https://example.com/a.png"]})  # fmt: skip
    assert r.status_code == 400 and "remote_files" in r.json()

    # Another user's storage cannot be used, even for the other user's own task.
    user = register(cloud_server.url)
    with httpx.Client(base_url=cloud_server.url, auth=(str(user["username"]), PASSWORD)) as http:
        own_task = new_task(http)
        r = http.post(f"/api/tasks/{own_task}/data/",
                      json={"cloud_storage_id": sid, "server_files": ["frames/"]})  # fmt: skip
        assert r.status_code == 400 and str(sid) in r.json()["cloud_storage_id"][0]
        assert http.get(f"/api/tasks/{own_task}").json()["size"] == 0


def test_cancel_stops_the_download(admin: httpx.Client, s3_endpoint: str) -> None:
    objects = {f"n{i:03d}.png": png(600, 400, (i, i, i)) for i in range(40)}
    sid = new_storage(admin, s3_endpoint, objects)
    task_id = new_task(admin)
    r = admin.post(f"/api/tasks/{task_id}/data/",
                   json={"server_files": ["/"], "cloud_storage_id": sid})  # fmt: skip
    assert r.status_code == 202, r.text
    rq_id = r.json()["rq_id"]
    assert admin.post(f"/api/requests/{rq_id}/cancel").status_code == 200
    done = wait(admin, rq_id)
    assert done["status"] == "failed" and "cancelled" in done["message"]
    assert admin.get(f"/api/tasks/{task_id}/data/meta").status_code == 404


def test_cvat_sdk_creates_a_task_from_a_bucket(cloud_server: Server, s3_endpoint: str) -> None:
    from cvat_sdk import make_client
    from cvat_sdk.api_client import models
    from cvat_sdk.core.proxies.tasks import ResourceType

    listed = [("frames/a.png", 40, 10), ("frames/c.png", 16, 16)]
    bucket = make_bucket(s3_endpoint, {**IMAGES, "manifest.jsonl": manifest(listed)})
    body = storage_body(s3_endpoint, bucket, manifests=["manifest.jsonl"])
    host, port = cloud_server.url.rsplit(":", 1)
    with make_client(host, port=int(port), credentials=cloud_server.admin) as client:
        client.config.status_check_period = 0.2
        api = client.api_client.cloudstorages_api
        created, _ = api.create(models.CloudStorageWriteRequest(**body))
        assert created.resource == bucket and created.manifests == ["manifest.jsonl"]
        assert created.owner.username == cloud_server.admin[0]
        page, _ = api.list(search=bucket)
        assert [s.id for s in page.results] == [created.id]
        one, _ = api.retrieve(created.id)
        assert one.display_name == body["display_name"]
        status, _ = api.retrieve_status(created.id)
        assert status == "AVAILABLE"
        content, _ = api.retrieve_content_v2(created.id, prefix="frames/")
        assert sorted(f.name for f in content.content) == ["a.png", "b.png", "c.png"]
        assert all(str(f.type) == "REG" and f.mime_type == "image" for f in content.content)

        task = client.tasks.create_from_data(
            spec={"name": "sdk from a bucket", "labels": [{"name": "car"}]},
            resources=["manifest.jsonl"],
            resource_type=ResourceType.SHARE,
            data_params={"cloud_storage_id": created.id, "image_quality": 75},
        )
        assert task.size == 2
        meta = task.get_meta()
        assert [(f.name, f.width, f.height) for f in meta.frames] == listed
        assert task.get_frame(1, quality="original").read() == IMAGES["frames/c.png"]

        patched, _ = api.partial_update(
            created.id, patched_cloud_storage_write_request=models.PatchedCloudStorageWriteRequest(
                display_name="renamed by the sdk"
            ),
        )  # fmt: skip
        assert patched.display_name == "renamed by the sdk"
        api.destroy(created.id)
        page, _ = api.list(search=bucket)
        assert page.count == 0


def test_context_images_named_by_the_manifest_come_along(
    admin: httpx.Client, s3_endpoint: str
) -> None:
    lines = [
        {"version": "1.1"}, {"type": "images"},
        {"name": "scene/a", "extension": ".png", "width": 20, "height": 10,
         "meta": {"related_images": ["scene/related_images/a_png/ctx.png"]}},
        {"name": "scene/b", "extension": ".png", "width": 6, "height": 6},
    ]  # fmt: skip
    objects = {
        "manifest.jsonl": b"".join(json.dumps(line).encode() + b"\n" for line in lines),
        "scene/a.png": png(20, 10, (200, 0, 0)), "scene/b.png": png(6, 6, (0, 0, 200)),
        "scene/related_images/a_png/ctx.png": png(5, 5, (0, 200, 0)),
        "scene/related_images/b_png/unlisted.png": png(5, 5, (0, 200, 0)),
    }  # fmt: skip
    sid = new_storage(admin, s3_endpoint, objects, manifests=["manifest.jsonl"])
    task_id = new_task(admin)
    done = create(admin, task_id, server_files=["manifest.jsonl"], cloud_storage_id=sid)
    assert done["status"] == "finished", done
    meta = admin.get(f"/api/tasks/{task_id}/data/meta").json()
    assert [(f["name"], f["related_files"]) for f in meta["frames"]] == [
        ("scene/a.png", 1), ("scene/b.png", 0)
    ]  # fmt: skip
    context = admin.get(f"/api/tasks/{task_id}/data",
                        params={"type": "context_image", "number": 0})  # fmt: skip
    assert context.status_code == 200, context.text
    with zipfile.ZipFile(io.BytesIO(context.content)) as zf:
        assert len(zf.namelist()) == 1


def test_cvat_cli_creates_a_task_from_a_bucket(
    admin: httpx.Client, cloud_server: Server, s3_endpoint: str, tmp_path: Path
) -> None:
    from tests.e2e.test_cli import cli

    listed = [("frames/c.png", 16, 16), ("frames/b.png", 30, 20)]
    objects = {**IMAGES, "manifest.jsonl": manifest(listed)}
    sid = new_storage(admin, s3_endpoint, objects, manifests=["manifest.jsonl"])
    created = cli(
        cloud_server, "task", "create", "cli from a bucket", "share", "manifest.jsonl",
        "--cloud_storage_id", str(sid), "--labels", json.dumps([{"name": "car"}]), cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr + created.stdout
    task_id = int(created.stdout.split()[-1])
    assert frames(admin, task_id) == [("frames/b.png", 30, 20), ("frames/c.png", 16, 16)]
