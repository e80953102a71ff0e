"""Context (related) images of a 2D task through the real server: CVAT's related_images
layout in an archive, `related_files` in the frame meta, and `type=context_image` (a zip
of the frame's context images as JPEGs) for tasks and jobs."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from tests.api.test_task_data import Api, image_bytes, zip_bytes


def context_zip(response: Any) -> dict[str, Image.Image]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    images: dict[str, Image.Image] = {}
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        for name in zf.namelist():
            with Image.open(io.BytesIO(zf.read(name))) as image:
                assert image.format == "JPEG"
                images[name] = image.convert("RGB")
    return images


def test_archive_with_context_images(server: Any) -> None:
    api = Api(server, segment_size=2)
    archive = zip_bytes(
        {
            "images/a.png": image_bytes(40, 30, (10, 10, 10)),
            "images/b.png": image_bytes(41, 30, (20, 20, 20)),
            "images/c.png": image_bytes(42, 30, (30, 30, 30)),
            "images/related_images/a_png/left.png": image_bytes(16, 12, (250, 0, 0)),
            "images/related_images/a_png/right.jpg": image_bytes(8, 6, (0, 0, 250), "JPEG"),
            "images/related_images/c_png/top.png": image_bytes(10, 10, (0, 250, 0)),
        }
    )
    done = api.create([("data.zip", archive)], chunk_size=2)
    assert done["status"] == "finished", done

    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert [(f["name"], f["width"], f["related_files"]) for f in meta["frames"]] == [
        ("images/a.png", 40, 2),
        ("images/b.png", 41, 0),
        ("images/c.png", 42, 1),
    ]
    assert meta["size"] == 3  # context images are never frames
    chunk = api.get(api.data_url, type="chunk", number=0, quality="original")
    with zipfile.ZipFile(io.BytesIO(chunk.content)) as zf:
        assert len(zf.infolist()) == 2

    first = context_zip(api.get(api.data_url, type="context_image", number=0))
    assert sorted(first) == ["left.png.jpg", "right.jpg.jpg"]
    assert first["left.png.jpg"].size == (16, 12)
    assert first["left.png.jpg"].getpixel((8, 6))[0] > 200
    assert first["right.jpg.jpg"].size == (8, 6)
    assert first["right.jpg.jpg"].getpixel((4, 3))[2] > 200

    none = api.get(api.data_url, type="context_image", number=1)
    assert none.status_code == 404 and "no context images" in none.text
    outside = api.get(api.data_url, type="context_image", number=3)
    assert outside.status_code == 400 and "number" in outside.json()
    assert api.get(api.data_url, type="context_image").status_code == 400

    jobs = api.get("/api/jobs", task_id=api.task_id, page=1).json()["results"]
    by_start = {j["start_frame"]: j["id"] for j in jobs}
    second = f"/api/jobs/{by_start[2]}/data"
    third = context_zip(api.get(second, type="context_image", number=2))
    assert list(third) == ["top.png.jpg"] and third["top.png.jpg"].getpixel((5, 5))[1] > 200
    # a frame of another job is not this job's
    assert api.get(second, type="context_image", number=0).status_code == 400
    job_meta = api.get(f"/api/jobs/{by_start[2]}/data/meta").json()
    assert [f["related_files"] for f in job_meta["frames"]] == [1]


def test_task_without_context_images_answers_404(server: Any) -> None:
    api = Api(server)
    assert api.create([("a.png", image_bytes(4, 4, (1, 1, 1)))])["status"] == "finished"
    r = api.get(api.data_url, type="context_image", number=0)
    assert r.status_code == 404


def test_a_broken_context_image_fails_the_request_naming_it(server: Any) -> None:
    api = Api(server)
    # a valid PNG header with a truncated body passes the archive check, not decoding
    truncated = image_bytes(64, 64, (1, 2, 3))[:60]
    archive = zip_bytes(
        {
            "a.png": image_bytes(4, 4, (1, 1, 1)),
            "related_images/a_png/broken.png": truncated,
        }
    )
    done = api.create([("data.zip", archive)])
    assert done["status"] == "failed"
    assert "related_images/a_png/broken.png" in done["message"]
    assert api.get(f"/api/tasks/{api.task_id}/data/meta").status_code == 404
    assert api.get(f"/api/tasks/{api.task_id}").json()["size"] == 0


@pytest.fixture(scope="module")
def share_server(services: Any, template_db: str, tmp_path_factory: Any) -> Iterator[Any]:
    from tests.conftest import api_server

    root = tmp_path_factory.mktemp("share")
    files = {
        "set/images/a.png": image_bytes(20, 10, (1, 1, 1)),
        "set/images/b.png": image_bytes(21, 10, (2, 2, 2)),
        "set/images/related_images/b_png/side.png": image_bytes(6, 4, (250, 0, 0)),
        "scans/pointcloud/0.pcd": (
            b"VERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nWIDTH 2\nHEIGHT 1\n"
            b"DATA ascii\n1 2 3\n4 5 6\n"
        ),
        "scans/related_images/0_pcd/cam.png": image_bytes(8, 8, (0, 250, 0)),
        "scans/notes.txt": b"skipped inside a directory",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    with api_server(services, template_db, redis_db=10, share_root=str(root)) as running:
        yield running


def test_context_images_from_the_share(share_server: Any) -> None:
    api = Api(share_server)
    r = api.http.post(api.data_url, json={"server_files": ["set/"], "image_quality": 70})
    assert r.status_code == 202, r.text
    assert api.wait(r.json()["rq_id"])["status"] == "finished"
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert [(f["name"], f["related_files"]) for f in meta["frames"]] == [
        ("set/images/a.png", 0),
        ("set/images/b.png", 1),
    ]
    side = context_zip(api.get(api.data_url, type="context_image", number=1))
    assert list(side) == ["side.png.jpg"] and side["side.png.jpg"].size == (6, 4)

    api = Api(share_server)
    r = api.http.post(api.data_url, json={"server_files": ["scans"], "image_quality": 70})
    assert r.status_code == 202, r.text
    assert api.wait(r.json()["rq_id"])["status"] == "finished"
    assert api.get(f"/api/tasks/{api.task_id}").json()["dimension"] == "3d"
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert [(f["name"], f["width"], f["related_files"]) for f in meta["frames"]] == [
        ("scans/pointcloud/0.pcd", 2, 1)
    ]
    cam = context_zip(api.get(api.data_url, type="context_image", number=0))
    assert list(cam) == ["cam.png.jpg"]
