"""Video tasks through the real server: upload (multipart and TUS), data meta, frames,
mp4 and zip chunks for tasks and jobs, start/stop/step, rotation, every container format,
broken and mixed uploads, and cvat-sdk. Frames are checked by the number each generated
frame draws on itself (tests/unit/test_media_video.py)."""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from tests.api.test_task_data import Api, image_bytes
from tests.unit.test_media_video import FORMATS, H, W, make_video, number_of, picture


@pytest.fixture
def api(server: Any) -> Api:
    return Api(server)


def video_bytes(tmp_path: Path, suffix: str = ".mp4", **kwargs: Any) -> bytes:
    return make_video(tmp_path / f"source{suffix}", **kwargs).read_bytes()


def mp4_numbers(data: bytes) -> list[int]:
    with av.open(io.BytesIO(data)) as container:
        return [number_of(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]


def zip_numbers(data: bytes) -> list[int]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [number_of(np.asarray(Image.open(zf.open(m)).convert("RGB"))) for m in zf.infolist()]


def image_of(response: Any) -> Image.Image:
    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(response.content))


def test_video_task_meta_frames_chunks_and_preview(api: Api, tmp_path: Path) -> None:
    data = video_bytes(tmp_path, frames=50, gop=10)
    done = api.create([("clip.mp4", data)], image_quality=80)
    assert done["status"] == "finished", done

    task = api.get(f"/api/tasks/{api.task_id}").json()
    assert task["mode"] == "interpolation" and task["size"] == 50
    assert task["data_compressed_chunk_type"] == "video"
    assert task["data_original_chunk_type"] == "video"
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert meta["frames"] == [{"name": "clip.mp4", "width": W, "height": H, "related_files": 0}]
    assert (meta["size"], meta["start_frame"], meta["stop_frame"]) == (50, 0, 49)
    assert meta["chunk_size"] == 30  # three GOPs: every chunk is remuxed

    compressed = api.get(api.data_url, type="frame", number=37)
    assert compressed.headers["content-type"] == "image/jpeg"
    with image_of(compressed) as image:
        assert image.format == "JPEG" and image.size == (W, H)
        assert number_of(np.asarray(image.convert("RGB"))) == 37
    original = api.get(api.data_url, type="frame", number=23, quality="original")
    assert original.headers["content-type"] == "image/png"
    with image_of(original) as image:
        assert image.format == "PNG"
        with av.open(io.BytesIO(data)) as container:
            source = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)][23]
        assert np.array_equal(np.asarray(image.convert("RGB")), source)  # remuxed: exact
    again = api.get(api.data_url, type="frame", number=23, quality="original")
    assert again.content == original.content

    chunk = api.get(api.data_url, type="chunk", number=1)
    assert chunk.status_code == 200 and chunk.headers["content-type"] == "video/mp4"
    assert mp4_numbers(chunk.content) == list(range(30, 50))
    chunk0 = api.get(api.data_url, type="chunk", number=0, quality="original")
    assert mp4_numbers(chunk0.content) == list(range(0, 30))
    assert api.get(api.data_url, type="chunk", number=2).status_code == 400
    assert api.get(api.data_url, type="frame", number=50).status_code == 400

    with image_of(api.http.get(f"/api/tasks/{api.task_id}/preview")) as image:
        assert image.size == (W, H) and image.format == "JPEG"


def test_video_jobs_split_by_segment_size(server: Any, tmp_path: Path) -> None:
    api = Api(server, segment_size=20)
    assert api.create([("v.mp4", video_bytes(tmp_path, frames=50, gop=10))])["status"] == "finished"
    jobs = api.get("/api/jobs", task_id=api.task_id, page=1).json()["results"]
    ranges = sorted((j["start_frame"], j["stop_frame"], j["id"]) for j in jobs)
    # interpolation tasks overlap their jobs by 5 frames by default (CVAT)
    assert [(a, b) for a, b, _ in ranges] == [(0, 19), (15, 34), (30, 49)]
    assert all(j["mode"] == "interpolation" for j in jobs)
    job = ranges[1][2]
    url = f"/api/jobs/{job}/data"

    meta = api.get(f"/api/jobs/{job}/data/meta").json()
    assert meta["frames"] == [{"name": "v.mp4", "width": W, "height": H, "related_files": 0}]
    assert (meta["size"], meta["start_frame"], meta["stop_frame"]) == (20, 15, 34)

    # index: the job's own chunks (made on request: frames 15..34 are not a task chunk)
    own = api.get(url, type="chunk", index=0, quality="compressed")
    assert own.status_code == 200 and own.headers["content-type"] == "video/mp4"
    assert mp4_numbers(own.content) == list(range(15, 35))
    original = api.get(url, type="chunk", index=0, quality="original")
    assert mp4_numbers(original.content) == list(range(15, 35))
    # number: the task's chunk 1 (frames 30..49) limited to the job
    assert mp4_numbers(api.get(url, type="chunk", number=1).content) == list(range(30, 35))
    assert api.get(url, type="chunk", index=1).status_code == 400

    with image_of(api.get(url, type="frame", number=25, quality="compressed")) as image:
        assert number_of(np.asarray(image.convert("RGB"))) == 25
    assert api.get(url, type="frame", number=45, quality="compressed").status_code == 400
    with image_of(api.http.get(f"/api/jobs/{job}/preview")) as image:
        assert number_of(np.asarray(image.convert("RGB").resize((W, H)))) == 15


def test_start_stop_and_step_select_video_frames(api: Api, tmp_path: Path) -> None:
    data = video_bytes(tmp_path, frames=50, gop=10)
    done = api.create([("v.mp4", data)], start_frame=5, stop_frame=40, frame_filter="step=4",
                      chunk_size=4)  # fmt: skip
    assert done["status"] == "finished", done
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert (meta["size"], meta["start_frame"], meta["stop_frame"]) == (9, 5, 37)
    assert meta["frame_filter"] == "step=4" and meta["chunk_size"] == 4
    assert mp4_numbers(api.get(api.data_url, type="chunk", number=1).content) == [21, 25, 29, 33]
    assert mp4_numbers(api.get(api.data_url, type="chunk", number=2).content) == [37]
    with image_of(api.get(api.data_url, type="frame", number=3)) as image:
        assert number_of(np.asarray(image.convert("RGB"))) == 17


def test_use_zip_chunks_gives_jpeg_zips(api: Api, tmp_path: Path) -> None:
    data = video_bytes(tmp_path, frames=24, gop=8)
    assert api.create([("v.mp4", data)], use_zip_chunks=True, chunk_size=8)["status"] == "finished"
    task = api.get(f"/api/tasks/{api.task_id}").json()
    assert task["data_compressed_chunk_type"] == "imageset"
    assert task["data_original_chunk_type"] == "video"
    chunk = api.get(api.data_url, type="chunk", number=1)
    assert chunk.headers["content-type"] == "application/zip"
    assert zip_numbers(chunk.content) == list(range(8, 16))
    original = api.get(api.data_url, type="chunk", number=2, quality="original")
    assert original.headers["content-type"] == "video/mp4"
    assert mp4_numbers(original.content) == list(range(16, 24))
    with image_of(api.get(api.data_url, type="frame", number=11)) as image:
        assert image.format == "JPEG" and number_of(np.asarray(image.convert("RGB"))) == 11


def test_rotated_video_is_served_upright(api: Api, tmp_path: Path) -> None:
    data = video_bytes(tmp_path, frames=12, gop=6, rotation=90)
    assert api.create([("phone.mp4", data)])["status"] == "finished"
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert [(f["width"], f["height"]) for f in meta["frames"]] == [(H, W)]
    expected = np.rot90(picture(7), 1).astype(int)  # 90 degrees counter-clockwise
    with image_of(api.get(api.data_url, type="frame", number=7, quality="original")) as image:
        assert image.size == (H, W)
        assert np.abs(np.asarray(image.convert("RGB")).astype(int) - expected).mean() < 6
    with av.open(io.BytesIO(api.get(api.data_url, type="chunk", number=0).content)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert first.shape[:2] == (W, H)
    assert np.abs(first.astype(int) - np.rot90(picture(0), 1).astype(int)).mean() < 8


@pytest.mark.parametrize(("codec", "suffix"), FORMATS[1:])
def test_each_container_format(api: Api, tmp_path: Path, codec: str, suffix: str) -> None:
    data = video_bytes(tmp_path, suffix, codec=codec, frames=20, gop=10)
    done = api.create([(f"clip{suffix}", data)], chunk_size=10)
    assert done["status"] == "finished", done
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert meta["size"] == 20 and meta["frames"][0]["name"] == f"clip{suffix}"
    assert mp4_numbers(api.get(api.data_url, type="chunk", number=1).content) == list(range(10, 20))
    with image_of(api.get(api.data_url, type="frame", number=13, quality="original")) as image:
        assert number_of(np.asarray(image.convert("RGB"))) == 13


def test_odd_sized_video_frames_keep_their_size(api: Api, tmp_path: Path) -> None:
    data = video_bytes(tmp_path, ".webm", codec="libvpx", frames=6, gop=3, width=127, height=95)
    assert api.create([("odd.webm", data)])["status"] == "finished"
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert [(f["width"], f["height"]) for f in meta["frames"]] == [(127, 95)]
    for quality in ("compressed", "original"):
        with image_of(api.get(api.data_url, type="frame", number=4, quality=quality)) as image:
            assert image.size == (127, 95)
            assert number_of(np.asarray(image.convert("RGB"))) == 4
    # H.264 in 4:2:0 needs even sizes: the re-encoded chunk is scaled by a pixel (as CVAT's)
    chunk = api.get(api.data_url, type="chunk", number=0).content
    with av.open(io.BytesIO(chunk)) as container:
        assert next(container.decode(video=0)).width == 128


def test_video_by_tus(api: Api, tmp_path: Path) -> None:
    data = video_bytes(tmp_path, ".webm", codec="libvpx", frames=15, gop=5)
    api.start()
    created = api.http.post(
        api.data_url,
        headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
                 "Upload-Metadata": "filename " + base64.b64encode(b"cam.webm").decode()},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    tus = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}
    half = len(data) // 2
    for offset, part in ((0, data[:half]), (half, data[half:])):
        r = api.http.patch(created.headers["Location"], content=part,
                           headers={**tus, "Upload-Offset": str(offset)})  # fmt: skip
        assert r.status_code == 204, r.text
    done = api.wait(api.finish(image_quality=60))
    assert done["status"] == "finished", done
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert meta["frames"][0]["name"] == "cam.webm" and meta["size"] == 15


def test_video_with_other_files_is_refused_naming_them(api: Api, tmp_path: Path) -> None:
    api.start()
    files = [("a.mp4", video_bytes(tmp_path, frames=5, gop=5)),
             ("b.png", image_bytes(8, 8, (1, 2, 3)))]  # fmt: skip
    assert api.send(files).status_code == 200
    r = api.http.post(api.data_url, headers={"Upload-Finish": ""}, json={})
    assert r.status_code == 400
    assert "a.mp4: a task takes one video and no other files (also given: b.png)" in r.text
    assert api.get(f"/api/tasks/{api.task_id}/data/meta").status_code == 404


def test_broken_video_fails_with_a_clear_message(api: Api, tmp_path: Path) -> None:
    # Index first (faststart), then cut: it opens (so the upload is accepted as a
    # video), and building finds the missing frames.
    path = tmp_path / "fs.mp4"
    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        for i in range(40):
            frame = av.VideoFrame.from_ndarray(picture(i), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    data = path.read_bytes()
    done = api.create([("trip.mp4", data[: len(data) * 3 // 4])])
    assert done["status"] == "failed"
    assert done["message"].startswith("trip.mp4: the video is broken or truncated")
    assert api.get(f"/api/tasks/{api.task_id}/data/meta").status_code == 404
    assert api.get(f"/api/tasks/{api.task_id}").json()["size"] == 0

    # Without its index an mp4 is no video at all: refused at upload, naming it.
    api.start()
    whole = make_video(tmp_path / "l.mp4").read_bytes()  # its index (moov) is at the end
    r = api.send([("lost.mp4", whole[: len(whole) // 2])])
    assert r.status_code == 400 and "lost.mp4: not an image, a video" in r.text


def test_cvat_sdk_creates_a_video_task(server: Any, tmp_path: Path) -> None:
    from cvat_sdk import make_client

    path = make_video(tmp_path / "drive.mp4", frames=40, gop=10)
    host, port = server.url.rsplit(":", 1)
    with make_client(host, port=int(port), credentials=server.admin) as client:
        client.config.status_check_period = 0.2
        task = client.tasks.create_from_data(
            spec={"name": "sdk video", "labels": [{"name": "car"}]},
            resources=[str(path)],
            data_params={"image_quality": 75},
        )
        assert task.size == 40 and task.mode == "interpolation"
        meta = task.get_meta()
        assert [(f.name, f.width, f.height) for f in meta.frames] == [("drive.mp4", W, H)]
        assert meta.size == 40 and meta.chunk_size == 30
        with Image.open(task.get_frame(33)) as image:
            assert number_of(np.asarray(image.convert("RGB"))) == 33
        with Image.open(task.get_frame(5, quality="original")) as image:
            assert image.format == "PNG" and number_of(np.asarray(image.convert("RGB"))) == 5
        chunk = io.BytesIO()
        task.download_chunk(1, chunk, quality="compressed")
        assert mp4_numbers(chunk.getvalue()) == list(range(30, 40))


# --- use_cache, manifest.jsonl, archives -------------------------------------------------


def rgb_frames(data: bytes) -> list[np.ndarray]:
    """Every decoded frame of an mp4 or JPEG zip chunk (RGB)."""
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return [np.asarray(Image.open(zf.open(m)).convert("RGB")) for m in zf.infolist()]
    with av.open(io.BytesIO(data)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.mark.parametrize("zipped", [False, True])
def test_use_cache_video_serves_what_a_prebuilt_task_serves(
    server: Any, tmp_path: Path, zipped: bool
) -> None:
    """Chunk size 12 with a keyframe every 10 frames: chunks are re-encoded, cut on
    request from the kept video, and decode to the prebuilt task's frames exactly."""
    data = video_bytes(tmp_path, frames=50, gop=10)
    params = {"chunk_size": 12, "image_quality": 80, "use_zip_chunks": zipped}
    prebuilt, lazy = Api(server, segment_size=20), Api(server, segment_size=20)
    assert prebuilt.create([("v.mp4", data)], **params)["status"] == "finished"
    assert lazy.create([("v.mp4", data)], use_cache=True, **params)["status"] == "finished"
    meta = lazy.get(f"/api/tasks/{lazy.task_id}/data/meta").json()
    assert meta["storage_method"] == "cache" and meta["size"] == 50
    assert prebuilt.get(f"/api/tasks/{prebuilt.task_id}/data/meta").json()["storage_method"] == (
        "file_system")  # fmt: skip
    task_dir = Path(server.data_dir) / "data" / "tasks" / str(lazy.task_id) / "data"
    assert not (task_dir / "chunks").exists() and (task_dir / "manifest.jsonl").is_file()

    for quality in ("compressed", "original"):
        for number in range(5):
            want = prebuilt.get(prebuilt.data_url, type="chunk", number=number, quality=quality)
            got = lazy.get(lazy.data_url, type="chunk", number=number, quality=quality)
            assert got.status_code == 200, got.text
            assert got.headers["content-type"] == want.headers["content-type"]
            frames, expected = rgb_frames(got.content), rgb_frames(want.content)
            assert len(frames) == len(expected) == (12 if number < 4 else 2)
            assert all(np.array_equal(a, b) for a, b in zip(frames, expected, strict=True))
        for number in (0, 23, 49):
            want = prebuilt.get(prebuilt.data_url, type="frame", number=number, quality=quality)
            got = lazy.get(lazy.data_url, type="frame", number=number, quality=quality)
            assert got.status_code == 200 and got.content == want.content
    assert lazy.get(lazy.data_url, type="chunk", number=5).status_code == 400

    def job_chunk(api: Api) -> bytes:
        jobs = api.get("/api/jobs", task_id=api.task_id, page=1).json()["results"]
        job = max(jobs, key=lambda j: j["start_frame"])["id"]  # frames 30..49
        r = api.get(f"/api/jobs/{job}/data", type="chunk", index=0, quality="compressed")
        assert r.status_code == 200, r.text
        return r.content

    assert [number_of(f) for f in rgb_frames(job_chunk(lazy))] == list(range(30, 42))
    assert job_chunk(lazy) == job_chunk(prebuilt)


def test_use_cache_with_sparse_keyframes_prebuilds(api: Api, tmp_path: Path) -> None:
    data = video_bytes(tmp_path, frames=60, gop=60)
    assert api.create([("v.mp4", data)], use_cache=True, chunk_size=5)["status"] == "finished"
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert meta["storage_method"] == "file_system"  # as CVAT: chunks made at creation
    assert mp4_numbers(api.get(api.data_url, type="chunk", number=11).content) == list(
        range(55, 60))  # fmt: skip


def video_manifest(name: str, width: int, height: int, length: int,
                   keys: list[tuple[int, int]]) -> bytes:  # fmt: skip
    lines = [b'{"version":"1.0"}', b'{"type":"video"}',
             f'{{"properties":{{"name":"{name}","resolution":[{width},{height}],'
             f'"length":{length}}}}}'.encode()]  # fmt: skip
    lines += [f'{{"number":{n},"pts":{p}}}'.encode() for n, p in keys]
    return b"\n".join(lines) + b"\n"


def test_a_manifest_beside_the_video_is_checked_and_used(server: Any, tmp_path: Path) -> None:
    path = make_video(tmp_path / "walk.mp4", frames=30, gop=10)
    data = path.read_bytes()
    first = Api(server)
    assert first.create([("walk.mp4", data)])["status"] == "finished"
    task_dir = Path(server.data_dir) / "data" / "tasks" / str(first.task_id) / "data"
    ours = (task_dir / "manifest.jsonl").read_bytes()
    assert ours.startswith(b'{"version":"1.0"}\n{"type":"video"}\n{"properties":{"name":'
                           b'"walk.mp4","resolution":[' + f"{W},{H}],".encode())  # fmt: skip
    assert ours.count(b'"number":') == 3  # key frames 0, 10, 20

    # the manifest a video task wrote is accepted beside that video (CVAT's use)
    api = Api(server)
    done = api.create([("walk.mp4", data), ("manifest.jsonl", ours)], use_cache=True)
    assert done["status"] == "finished", done
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert meta["size"] == 30 and meta["frames"][0]["name"] == "walk.mp4"
    assert mp4_numbers(api.get(api.data_url, type="chunk", number=0).content) == list(range(30))

    wrong = video_manifest("walk.mp4", W, H, 31, [(0, 0)])
    api = Api(server)
    done = api.create([("walk.mp4", data), ("manifest.jsonl", wrong)], use_cache=True)
    assert done["status"] == "failed"
    assert done["message"] == (
        "manifest.jsonl: line 3: length 31 in the manifest, but walk.mp4 has 30 frames"
    )
    assert api.get(f"/api/tasks/{api.task_id}/data/meta").status_code == 404


def test_a_video_manifest_alone_is_no_media(api: Api) -> None:
    done = api.create([("manifest.jsonl", video_manifest("walk.mp4", W, H, 30, [(0, 0)]))])
    assert done["status"] == "failed"
    assert done["message"] == (
        "No media data found: manifest.jsonl is a manifest without images or a video; "
        "upload the files it lists too."
    )


def test_a_video_inside_an_archive_is_refused_naming_it(api: Api, tmp_path: Path) -> None:
    api.start()
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as zf:
        zf.writestr("frames/a.png", image_bytes(8, 8, (1, 2, 3)))
        zf.writestr("clips/drive.mp4", video_bytes(tmp_path, frames=5, gop=5))
    r = api.send([("media.zip", packed.getvalue())])
    assert r.status_code == 400
    assert ("media.zip: member 'clips/drive.mp4' is a video; videos are not read from "
            "archives, upload the video file itself") in r.text  # fmt: skip


def test_cvat_sdk_creates_a_use_cache_video_task(server: Any, tmp_path: Path) -> None:
    from cvat_sdk import make_client

    path = make_video(tmp_path / "drive.mp4", frames=40, gop=10)
    host, port = server.url.rsplit(":", 1)
    with make_client(host, port=int(port), credentials=server.admin) as client:
        client.config.status_check_period = 0.2
        task = client.tasks.create_from_data(
            spec={"name": "sdk video on the fly", "labels": [{"name": "car"}]},
            resources=[str(path)],
            data_params={"image_quality": 75, "use_cache": True},
        )
        meta = task.get_meta()
        assert str(meta.storage_method) == "cache" and meta.size == 40
        with Image.open(task.get_frame(33)) as image:
            assert number_of(np.asarray(image.convert("RGB"))) == 33
        chunk = io.BytesIO()
        task.download_chunk(1, chunk, quality="original")
        assert mp4_numbers(chunk.getvalue()) == list(range(30, 40))


@pytest.fixture(scope="module")
def shared_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A share holding a video, its manifest and a manifest of another length."""
    root = tmp_path_factory.mktemp("video-share")
    path = make_video(root / "road.mp4", frames=30, gop=10)
    (root / "good").mkdir()
    (root / "bad").mkdir()
    for folder, length in (("good", 30), ("bad", 29)):
        path_copy = root / folder / "road.mp4"
        path_copy.write_bytes(path.read_bytes())
        (root / folder / "manifest.jsonl").write_bytes(
            video_manifest("road.mp4", W, H, length, [(0, 0)]))  # fmt: skip
    return root


@pytest.fixture(scope="module")
def media_server(
    services: Any, template_db: str, s3_endpoint: str, shared_video: Path
) -> Iterator[Any]:
    from tests.conftest import api_server

    with api_server(
        services, template_db, redis_db=7, share_root=str(shared_video),
        url_allowlist="127.0.0.1", secret_key="a test secret, not a real one",
    ) as running:  # fmt: skip
        yield running


def test_a_manifest_in_a_share_selection_is_checked(media_server: Any) -> None:
    api = Api(media_server)
    done = api.wait(api.finish(server_files=["good/"], use_cache=True))
    assert done["status"] == "finished", done
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert meta["frames"][0]["name"] == "good/road.mp4" and meta["storage_method"] == "cache"
    assert mp4_numbers(api.get(api.data_url, type="chunk", number=0).content) == list(range(30))
    api = Api(media_server)
    done = api.wait(api.finish(server_files=["bad/road.mp4", "bad/manifest.jsonl"]))
    assert done["status"] == "failed"
    assert done["message"] == (
        "bad/manifest.jsonl: line 3: length 29 in the manifest, but road.mp4 has 30 frames"
    )


def test_a_video_manifest_in_a_bucket_brings_its_video(
    media_server: Any, s3_endpoint: str, shared_video: Path
) -> None:
    from tests.api.test_cloudstorages import make_bucket, storage_body

    video = (shared_video / "road.mp4").read_bytes()
    objects = {
        "clips/road.mp4": video,
        "clips/manifest.jsonl": video_manifest("road.mp4", W, H, 30, [(0, 0)]),
        "other/road.mp4": video,
        "other/manifest.jsonl": video_manifest("road.mp4", W + 2, H, 30, [(0, 0)]),
    }
    bucket = make_bucket(s3_endpoint, objects)
    api = Api(media_server)
    r = api.http.post("/api/cloudstorages", json=storage_body(s3_endpoint, bucket))
    assert r.status_code == 201, r.text
    storage_id = r.json()["id"]
    done = api.wait(api.finish(server_files=["clips/manifest.jsonl"], use_cache=True,
                               cloud_storage_id=storage_id))  # fmt: skip
    assert done["status"] == "finished", done
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert meta["frames"][0]["name"] == "clips/road.mp4" and meta["size"] == 30
    api = Api(media_server)
    done = api.wait(api.finish(server_files=["other/manifest.jsonl"],
                               cloud_storage_id=storage_id))  # fmt: skip
    assert done["status"] == "failed"
    assert done["message"] == (
        f"other/manifest.jsonl: line 3: resolution {W + 2}x{H} in the manifest, but road.mp4 "
        f"is {W}x{H}"
    )
