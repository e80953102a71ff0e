"""The server share through the real server: `GET /api/server/share` listings, tasks from
share files and directories (`server_files`, `server_files_exclude`, `filename_pattern`)
through HTTP, cvat-sdk (ResourceType.SHARE) and cvat-cli (`share`), paths that would leave
the share, and tar archives (uploaded and from the share)."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.api.test_task_data import Api, image_bytes, zip_bytes
from tests.e2e.test_cli import cli


def tar_bytes(members: dict[str, bytes], mode: str = "w:gz") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return out.getvalue()


A_PNG = image_bytes(30, 20, (250, 0, 0))


@pytest.fixture(scope="module")
def share_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("share")
    root = base / "root"
    outside = base / "outside"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "sub" / "skip").mkdir()
    (root / "empty").mkdir()
    outside.mkdir()
    (outside / "secret.png").write_bytes(image_bytes(5, 5, (0, 0, 0)))
    (root / "a.png").write_bytes(A_PNG)
    (root / "b.jpg").write_bytes(image_bytes(31, 21, (0, 250, 0), "JPEG"))
    (root / "bad.png").write_bytes(b"this is text, not a picture")
    (root / "sub" / "c.png").write_bytes(image_bytes(32, 22, (0, 0, 250)))
    (root / "sub" / "deeper" / "d.png").write_bytes(image_bytes(33, 23, (9, 9, 9)))
    (root / "sub" / "skip" / "e.png").write_bytes(image_bytes(34, 24, (9, 9, 9)))
    (root / "sub" / "notes.txt").write_text("not media: skipped inside a directory")
    (root / "sub" / "in_link.png").symlink_to(root / "a.png")
    (root / "sub" / "out_link.png").symlink_to(outside / "secret.png")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "pack.tgz").write_bytes(
        tar_bytes(
            {"t/1.png": image_bytes(8, 8, (1, 1, 1)), "t/2.png": image_bytes(9, 9, (2, 2, 2))}
        )
    )
    (root / "photos.zip").write_bytes(zip_bytes({"z.png": image_bytes(7, 7, (3, 3, 3))}))
    return root


@pytest.fixture(scope="module")
def share_server(services: Any, template_db: str, share_dir: Path) -> Iterator[Any]:
    from tests.conftest import api_server

    with api_server(services, template_db, redis_db=4, share_root=str(share_dir)) as running:
        yield running


@pytest.fixture
def api(share_server: Any) -> Api:
    return Api(share_server)


def post_data(api: Api, **params: Any) -> Any:
    return api.http.post(api.data_url, json=params)


def create(api: Api, **params: Any) -> dict[str, Any]:
    r = post_data(api, **params)
    assert r.status_code == 202, r.text
    return api.wait(str(r.json()["rq_id"]))


def frame_names(api: Api) -> list[str]:
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta")
    assert meta.status_code == 200, meta.text
    return [f["name"] for f in meta.json()["frames"]]


# --- listing ------------------------------------------------------------------------------


def test_share_listing_is_cvat_shaped_with_directories_first(api: Api) -> None:
    r = api.get("/api/server/share", directory="/")
    assert r.status_code == 200, r.text
    assert r.json() == [
        {"name": "empty", "type": "DIR", "mime_type": "DIR"},
        {"name": "sub", "type": "DIR", "mime_type": "DIR"},
        {"name": "a.png", "type": "REG", "mime_type": "image"},
        {"name": "b.jpg", "type": "REG", "mime_type": "image"},
        {"name": "bad.png", "type": "REG", "mime_type": "image"},
        {"name": "pack.tgz", "type": "REG", "mime_type": "archive"},
        {"name": "photos.zip", "type": "REG", "mime_type": "archive"},
    ]  # "escape" points outside the share: not listed
    assert api.get("/api/server/share").json() == r.json()  # "/" is the default
    sub = api.get("/api/server/share", directory="/sub/").json()
    assert [(e["name"], e["type"]) for e in sub] == [
        ("deeper", "DIR"), ("skip", "DIR"), ("c.png", "REG"), ("in_link.png", "REG"),
        ("notes.txt", "REG"),
    ]  # fmt: skip
    assert sub[-1]["mime_type"] == "unknown"
    found = api.get("/api/server/share", directory="sub", search="d").json()
    assert [e["name"] for e in found] == ["deeper"]
    assert api.get("/api/server/share", directory="/empty/").json() == []


@pytest.mark.parametrize(
    ("directory", "status", "message"),
    [
        ("/missing/", 404, "no such file or directory"),
        ("/../", 400, "'..' is not allowed"),
        ("/sub/../../", 400, "'..' is not allowed"),
        ("/escape/", 400, "outside the share"),
        ("/a.png", 400, "not a directory"),
    ],
)
def test_share_listing_refuses_what_is_not_a_share_directory(
    api: Api, directory: str, status: int, message: str
) -> None:
    r = api.get("/api/server/share", directory=directory)
    assert r.status_code == status, r.text
    assert message in r.json()["detail"] and directory in r.json()["detail"]


def test_without_a_share_the_listing_is_empty_and_server_files_are_refused(server: Any) -> None:
    plain = Api(server)
    assert plain.get("/api/server/share").json() == []
    missing = plain.get("/api/server/share", directory="/x/")
    assert missing.status_code == 404 and "no share" in missing.json()["detail"]
    r = post_data(plain, server_files=["a.png"])
    assert r.status_code == 400
    assert "VELLUM_SHARE_ROOT" in r.json()["server_files"][0]


def test_share_listing_needs_a_login(share_server: Any) -> None:
    assert httpx.get(f"{share_server.url}/api/server/share").status_code == 401


# --- tasks from the share -----------------------------------------------------------------


def test_task_from_share_files_and_directories_copies_the_files(
    api: Api, share_dir: Path, share_server: Any
) -> None:
    done = create(
        api, server_files=["/a.png", "sub/"], server_files_exclude=["sub/skip/"],
        image_quality=70,
    )  # fmt: skip
    assert done["status"] == "finished", done
    # Names are share paths; the link to a file outside the share and the text file
    # inside the listed directory are left out; sub/skip/ is excluded.
    assert frame_names(api) == ["a.png", "sub/c.png", "sub/deeper/d.png", "sub/in_link.png"]
    original = api.get(api.data_url, type="frame", number=0, quality="original")
    assert original.content == A_PNG
    task = api.get(f"/api/tasks/{api.task_id}").json()
    assert task["size"] == 4
    # The data was copied: changing the share later does not change the task.
    copy = share_dir / f"later-{uuid.uuid4().hex[:6]}.png"
    copy.write_bytes(A_PNG)
    other = Api(share_server)
    assert create(other, server_files=[copy.name])["status"] == "finished"
    copy.write_bytes(image_bytes(3, 3, (0, 0, 0)))
    again = other.get(other.data_url, type="frame", number=0, quality="original")
    assert again.content == A_PNG
    copy.unlink()


def test_exclude_files_and_filename_pattern(api: Api, share_server: Any) -> None:
    done = create(api, server_files=["sub"], server_files_exclude=["sub/c.png", "sub/deeper"])
    assert done["status"] == "finished", done
    assert frame_names(api) == ["sub/in_link.png", "sub/skip/e.png"]
    patterned = Api(share_server)
    done = create(patterned, server_files=["sub/", "a.png"], filename_pattern="*/d*.png")
    assert done["status"] == "finished", done
    assert frame_names(patterned) == ["sub/deeper/d.png"]


def test_archives_on_the_share_are_unpacked(api: Api) -> None:
    done = create(api, server_files=["pack.tgz", "photos.zip"])
    assert done["status"] == "finished", done
    assert frame_names(api) == ["t/1.png", "t/2.png", "z.png"]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"server_files": ["missing.png"]}, "server_files", "missing.png: no such file"),
        ({"server_files": ["../outside/secret.png"]}, "server_files", "'..' is not allowed"),
        ({"server_files": ["a.png", "escape/secret.png"]}, "server_files", "outside the share"),
        ({"server_files": ["sub/out_link.png"]}, "server_files", "outside the share"),
        (
            {"server_files": ["sub/"], "server_files_exclude": ["x"], "filename_pattern": "*"},
            "filename_pattern",
            "cannot be used together",
        ),
        ({"server_files_exclude": ["x"]}, "server_files_exclude", "only allowed with"),
    ],
)
def test_bad_share_requests_are_400_naming_the_entry(
    api: Api, params: dict[str, Any], field: str, message: str
) -> None:
    r = post_data(api, **params)
    assert r.status_code == 400, r.text
    assert message in r.json()[field][0]
    assert api.get(f"/api/tasks/{api.task_id}").json()["size"] == 0


def test_a_named_share_file_that_is_no_media_fails_the_request_naming_it(
    api: Api, share_server: Any
) -> None:
    done = create(api, server_files=["a.png", "bad.png"])
    assert done["status"] == "failed" and "bad.png" in done["message"], done
    assert api.get(f"/api/tasks/{api.task_id}/data/meta").status_code == 404
    assert api.get(f"/api/tasks/{api.task_id}").json()["size"] == 0
    # a directory with nothing usable in it
    empty = Api(share_server)
    r = post_data(empty, server_files=["empty/"])
    assert r.status_code == 202
    failed = empty.wait(str(r.json()["rq_id"]))
    assert failed["status"] == "failed" and "No media data found" in failed["message"]


def test_a_broken_image_inside_a_share_directory_fails_the_request_naming_it(
    api: Api, share_dir: Path
) -> None:
    """Notes beside the images are skipped; a file named as an image that is not one is
    broken data, never a silently missing frame."""
    broken = share_dir / "broken"
    broken.mkdir()
    try:
        (broken / "ok.png").write_bytes(A_PNG)
        (broken / "readme.txt").write_text("skipped")
        (broken / "torn.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
        done = create(api, server_files=["broken/"])
        assert done["status"] == "failed" and "torn.jpg" in done["message"], done
        assert api.get(f"/api/tasks/{api.task_id}").json()["size"] == 0
    finally:
        shutil.rmtree(broken)


def test_server_files_in_the_one_request_multipart_form(api: Api) -> None:
    r = api.http.post(
        api.data_url,
        data={"image_quality": "70", "server_files[0]": "b.jpg", "server_files[1]": "sub/c.png"},
        files={"unused": ("x", b"")},  # forces multipart/form-data
    )
    assert r.status_code == 202, r.text
    assert api.wait(str(r.json()["rq_id"]))["status"] == "finished"
    assert frame_names(api) == ["b.jpg", "sub/c.png"]


def test_cvat_sdk_creates_a_task_from_the_share(share_server: Any) -> None:
    from cvat_sdk import make_client
    from cvat_sdk.core.proxies.tasks import ResourceType

    host, port = share_server.url.rsplit(":", 1)
    with make_client(host, port=int(port), credentials=share_server.admin) as client:
        client.config.status_check_period = 0.2
        listing = client.api_client.server_api.list_share(directory="/sub/")[0]
        assert [str(e.name) for e in listing][:2] == ["deeper", "skip"]
        task = client.tasks.create_from_data(
            spec={"name": "sdk share", "labels": [{"name": "car"}], "segment_size": 2},
            resources=["sub/", "a.png"],
            resource_type=ResourceType.SHARE,
            data_params={"image_quality": 75, "server_files_exclude": ["sub/deeper/"]},
        )
        assert task.size == 4
        names = [f.name for f in task.get_meta().frames]
        assert names == ["a.png", "sub/c.png", "sub/in_link.png", "sub/skip/e.png"]
        with Image.open(task.get_frame(0)) as image:
            assert image.size == (30, 20)
        assert len(task.get_jobs()) == 2


def test_cvat_cli_creates_a_task_from_the_share(share_server: Any, tmp_path: Path) -> None:
    name = f"cli-share-{uuid.uuid4().hex[:6]}"
    created = cli(
        share_server, "task", "create", name, "share", "sub/deeper/", "b.jpg",
        "--labels", json.dumps([{"name": "car"}]), cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr + created.stdout
    task_id = int(created.stdout.split()[-1])
    with httpx.Client(base_url=share_server.url, auth=share_server.admin) as http:
        meta = http.get(f"/api/tasks/{task_id}/data/meta").json()
    assert [f["name"] for f in meta["frames"]] == ["b.jpg", "sub/deeper/d.png"]


# --- tar uploads --------------------------------------------------------------------------


def test_tar_archive_upload(share_server: Any) -> None:
    members = {
        "set/b.png": image_bytes(8, 8, (1, 2, 3)),
        "set/a.jpg": image_bytes(9, 7, (3, 2, 1), "JPEG"),
        "set/readme.txt": b"sidecar",
    }
    for mode, upload_name in (("w:gz", "data.tgz"), ("w:xz", "data.tar.xz"), ("w", "x.tar")):
        task = Api(share_server)
        done = task.create([(upload_name, tar_bytes(members, mode))])
        assert done["status"] == "finished", (mode, done)
        assert frame_names(task) == ["set/a.jpg", "set/b.png"]


def test_bad_tar_upload_is_a_400_naming_it(api: Api) -> None:
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w:gz") as tf:
        info = tarfile.TarInfo("x.png")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tf.addfile(info)
    api.start()
    r = api.send([("evil.tgz", evil.getvalue())])
    assert r.status_code == 400, r.text
    assert "evil.tgz" in r.json()["client_files"][0]
    assert "symbolic link" in r.json()["client_files"][0]
