"""3D tasks through the real server: point clouds (PCD, KITTI .bin) in CVAT's layouts,
uploaded in a zip or as files; dimension "3d" in task and job reads; frames are the PCD
bytes, chunks are zips of PCDs, context images per frame; broken input fails naming the
file and keeps nothing. One test drives cvat-sdk."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tests.api.test_task_data import Api, image_bytes, zip_bytes

PCD_MIME = "image/x.point-cloud-data"


def ascii_pcd(points: list[tuple[float, float, float]], *, declared: int | None = None) -> bytes:
    n = declared if declared is not None else len(points)
    header = (
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\n"
        f"TYPE F F F\nCOUNT 1 1 1\nWIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\n"
        "DATA ascii\n"
    )
    return (header + "".join(f"{x} {y} {z}\n" for x, y, z in points)).encode()


def binary_pcd(width: int, height: int, seed: int) -> bytes:
    values = np.random.default_rng(seed).normal(size=(width * height, 3)).astype("<f4")
    header = (
        f"VERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH {width}\n"
        f"HEIGHT {height}\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {width * height}\nDATA binary\n"
    )
    return header.encode() + values.tobytes()


def zip_members(content: bytes) -> list[bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return [zf.read(m) for m in zf.infolist()]


def test_point_cloud_zip_with_related_images(server: Any) -> None:
    api = Api(server, segment_size=2)
    clouds = [binary_pcd(4, 2, seed=0), ascii_pcd([(1, 2, 3)] * 5), binary_pcd(3, 1, seed=2)]
    archive = zip_bytes(
        {
            **{f"pointcloud/0000{i}.pcd": c for i, c in enumerate(clouds)},
            "related_images/00000_pcd/front.png": image_bytes(20, 10, (250, 0, 0)),
            "related_images/00000_pcd/back.jpg": image_bytes(10, 20, (0, 250, 0), "JPEG"),
            "related_images/00002_pcd/cam.png": image_bytes(6, 6, (0, 0, 250)),
        }
    )
    done = api.create([("cloud.zip", archive)], chunk_size=2)
    assert done["status"] == "finished", done

    task = api.get(f"/api/tasks/{api.task_id}").json()
    assert task["dimension"] == "3d" and task["size"] == 3 and task["mode"] == "annotation"
    jobs = api.get("/api/jobs", task_id=api.task_id, page=1).json()["results"]
    assert {j["dimension"] for j in jobs} == {"3d"}
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert [(f["name"], f["width"], f["height"], f["related_files"]) for f in meta["frames"]] == [
        ("pointcloud/00000.pcd", 4, 2, 2),
        ("pointcloud/00001.pcd", 5, 1, 0),
        ("pointcloud/00002.pcd", 3, 1, 1),
    ]

    for quality in ("compressed", "original"):
        frame = api.get(api.data_url, type="frame", number=1, quality=quality)
        assert frame.status_code == 200 and frame.content == clouds[1]
        assert frame.headers["content-type"] == PCD_MIME
        chunk = api.get(api.data_url, type="chunk", number=0, quality=quality)
        assert chunk.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(chunk.content)) as zf:
            assert zf.namelist() == ["000000.pcd", "000001.pcd"]
        assert zip_members(chunk.content) == clouds[:2]

    context = api.get(api.data_url, type="context_image", number=0)
    assert context.status_code == 200 and context.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(context.content)) as zf:
        assert zf.namelist() == ["back.jpg.jpg", "front.png.jpg"]
        with Image.open(io.BytesIO(zf.read("front.png.jpg"))) as image:
            assert image.format == "JPEG" and image.size == (20, 10)
    assert api.get(api.data_url, type="context_image", number=1).status_code == 404

    preview = api.http.get(f"/api/tasks/{api.task_id}/preview")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(preview.content)) as image:
        assert image.format == "JPEG" and max(image.size) <= 256

    # The second job holds frame 2 only: its chunk is made from the PCD, not a JPEG.
    second = next(j["id"] for j in jobs if j["start_frame"] == 2)
    url = f"/api/jobs/{second}/data"
    assert zip_members(api.get(url, type="chunk", index=0, quality="compressed").content) == [
        clouds[2]
    ]
    assert api.get(url, type="frame", number=2, quality="compressed").content == clouds[2]
    job_context = api.get(url, type="context_image", number=2)
    assert job_context.status_code == 200
    assert api.get(url, type="context_image", number=0).status_code == 400
    job_preview = api.http.get(f"/api/jobs/{second}/preview")
    assert job_preview.status_code == 200 and job_preview.content == preview.content


def test_kitti_velodyne_zip(server: Any) -> None:
    api = Api(server)
    rng = np.random.default_rng(7)
    scans = [rng.normal(size=(30 + i, 4)).astype("<f4") for i in range(2)]
    archive = zip_bytes(
        {
            "drive/velodyne_points/data/0000000000.bin": scans[0].tobytes(),
            "drive/velodyne_points/data/0000000001.bin": scans[1].tobytes(),
            "drive/velodyne_points/timestamps.txt": b"2011-09-26 13:02:25.9\n",
            "drive/image_00/data/0000000000.png": image_bytes(12, 8, (1, 1, 1)),
            "drive/image_01/data/0000000000.png": image_bytes(12, 8, (2, 2, 2)),
            "drive/image_00/data/0000000001.png": image_bytes(12, 8, (3, 3, 3)),
        }
    )
    done = api.create([("kitti.zip", archive)])
    assert done["status"] == "finished", done
    assert api.get(f"/api/tasks/{api.task_id}").json()["dimension"] == "3d"
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert [(f["name"], f["width"], f["height"], f["related_files"]) for f in meta["frames"]] == [
        ("drive/velodyne_points/data/0000000000.pcd", 30, 1, 2),
        ("drive/velodyne_points/data/0000000001.pcd", 31, 1, 1),
    ]
    pcd = api.get(api.data_url, type="frame", number=1).content
    header, body = pcd.split(b"DATA binary\n", 1)
    assert header.startswith(b"VERSION 0.7\nFIELDS x y z intensity\nSIZE 4 4 4 4\n")
    assert b"WIDTH 31\nHEIGHT 1\n" in header and b"POINTS 31\n" in header
    np.testing.assert_array_equal(np.frombuffer(body, dtype="<f4").reshape(-1, 4), scans[1])
    context = api.get(api.data_url, type="context_image", number=0)
    with zipfile.ZipFile(io.BytesIO(context.content)) as zf:
        assert zf.namelist() == [
            "image_00/data/0000000000.png.jpg",
            "image_01/data/0000000000.png.jpg",
        ]


def test_uploaded_point_clouds_with_same_named_context_images(server: Any) -> None:
    api = Api(server)
    files = [
        ("b.pcd", ascii_pcd([(0, 0, 1)] * 2)),
        ("a.pcd", ascii_pcd([(0, 0, 0)] * 3)),
        ("a.png", image_bytes(5, 5, (9, 9, 9))),
        ("c.bin", np.ones((4, 4), dtype="<f4").tobytes()),
    ]
    done = api.create(files, use_cache=True)
    assert done["status"] == "finished", done
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert [(f["name"], f["width"], f["related_files"]) for f in meta["frames"]] == [
        ("a.pcd", 3, 1),
        ("b.pcd", 2, 0),
        ("c.pcd", 4, 0),
    ]
    assert meta["storage_method"] == "cache"
    chunk = api.get(api.data_url, type="chunk", number=0, quality="compressed")
    assert chunk.status_code == 200
    members = zip_members(chunk.content)
    assert members[:2] == [files[1][1], files[0][1]]
    assert members[2].startswith(b"VERSION 0.7\nFIELDS x y z intensity\n")


def test_broken_point_clouds_are_refused_naming_them_and_nothing_is_kept(server: Any) -> None:
    # A broken header is seen on upload: a 400 naming the archive member.
    api = Api(server)
    api.start()
    bad_header = zip_bytes({"pc/bad.pcd": b"VERSION 0.7\nFIELDS x y z\nSIZE 4\n"})
    r = api.send([("scans.zip", bad_header)])
    assert r.status_code == 400 and "pc/bad.pcd" in r.json()["client_files"][0]
    r = api.send([("odd.bin", b"\0" * 20)])
    assert r.status_code == 400 and "odd.bin" in r.json()["client_files"][0]

    # A truncated body is seen when the task is built: the request fails naming it.
    api = Api(server)
    truncated = zip_bytes(
        {"pc/good.pcd": ascii_pcd([(1, 1, 1)]), "pc/short.pcd": ascii_pcd([(1, 1, 1)], declared=4)}
    )
    done = api.create([("scans.zip", truncated)])
    assert done["status"] == "failed"
    assert "pc/short.pcd" in done["message"] and "1 data lines for 4 points" in done["message"]
    assert api.get(f"/api/tasks/{api.task_id}/data/meta").status_code == 404
    task = api.get(f"/api/tasks/{api.task_id}").json()
    assert task["size"] == 0 and task["dimension"] in (None, "2d")


def test_point_clouds_and_plain_images_do_not_mix(server: Any) -> None:
    api = Api(server)
    archive = zip_bytes(
        {
            "pointcloud/1.pcd": ascii_pcd([(1, 1, 1)]),
            "related_images/1_pcd/ok.png": image_bytes(4, 4, (1, 1, 1)),
            "photos/holiday.png": image_bytes(4, 4, (2, 2, 2)),
        }
    )
    done = api.create([("mixed.zip", archive)])
    assert done["status"] == "failed"
    assert "photos/holiday.png" in done["message"] and "ok.png" not in done["message"]
    assert api.get(f"/api/tasks/{api.task_id}/data/meta").status_code == 404


def test_cvat_sdk_creates_a_3d_task(server: Any, tmp_path: Path) -> None:
    from cvat_sdk import make_client

    clouds = [ascii_pcd([(i, i, i)] * (i + 3)) for i in range(3)]
    paths = []
    for i, cloud in enumerate(clouds):
        path = tmp_path / f"scan_{i}.pcd"
        path.write_bytes(cloud)
        paths.append(str(path))
    context = tmp_path / "scan_1.png"
    Image.new("RGB", (9, 7), (0, 200, 0)).save(context)
    paths.append(str(context))
    host, port = server.url.rsplit(":", 1)
    with make_client(host, port=int(port), credentials=server.admin) as client:
        client.config.status_check_period = 0.2
        task = client.tasks.create_from_data(
            spec={"name": "sdk 3d", "labels": [{"name": "car", "type": "cuboid"}]},
            resources=paths,
        )
        assert task.size == 3 and task.dimension == "3d"
        meta = task.get_meta()
        assert [(f.name, f.width, f.height) for f in meta.frames] == [
            ("scan_0.pcd", 3, 1),
            ("scan_1.pcd", 4, 1),
            ("scan_2.pcd", 5, 1),
        ]
        assert [f.related_files for f in meta.frames] == [0, 1, 0]
        assert task.get_frame(2, quality="original").read() == clouds[2]
        chunk = io.BytesIO()
        task.download_chunk(0, chunk, quality="compressed")
        assert zip_members(chunk.getvalue()) == clouds
        (job,) = task.get_jobs()
        assert job.dimension == "3d"


def test_uploaded_plain_images_beside_point_clouds_are_a_400(server: Any) -> None:
    api = Api(server)
    api.start()
    files = [
        ("a.pcd", ascii_pcd([(1, 1, 1)])),
        ("a.jpg", image_bytes(4, 4, (1, 1, 1), "JPEG")),
        ("b.png", image_bytes(4, 4, (2, 2, 2))),
    ]
    assert api.send(files).status_code == 200
    r = api.http.post(api.data_url, headers={"Upload-Finish": ""}, json={"image_quality": 70})
    assert r.status_code == 400
    (message,) = r.json()["client_files"]
    assert message.startswith("b.png: images that are not context images")
    assert api.get("/api/requests", task_id=api.task_id).json()["count"] == 0
