"""use_cache tasks (chunks made on request into one bounded LRU disk cache), manifest.jsonl
given with the images, and HTTP caching (ETag / 304 / Cache-Control) of task data, all
through a real server whose chunk cache is 1 MiB."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from backend.media.chunk_cache import task_key
from tests.api.test_task_data import Api, image_bytes, noise_png, zip_bytes

CACHE_MB = 1


@pytest.fixture(scope="module")
def cache_server(services: Any, template_db: str) -> Iterator[Any]:
    from tests.conftest import api_server

    with api_server(services, template_db, redis_db=8, media_cache_mb=str(CACHE_MB)) as running:
        yield running


def task_dir(server: Any, task_id: int) -> Path:
    return Path(server.data_dir) / "data" / "tasks" / str(task_id) / "data"


def cache_items(server: Any) -> Path:
    return Path(server.data_dir) / "data" / "cache" / "chunks" / "items"


def kept_bytes(server: Any) -> int:
    return sum(p.stat().st_size for p in cache_items(server).glob("*/*"))


def kept_file(server: Any, api: Api, *parts: object) -> Path:
    """Where the cache keeps the entry `task/{id}/{version}/parts...`."""
    version = api.get(f"/api/tasks/{api.task_id}/data/meta").json()["chunks_updated_date"]
    digest = hashlib.sha256(task_key(api.task_id, version, *parts).encode()).hexdigest()
    return cache_items(server) / digest[:2] / digest


def members(response: Any) -> list[bytes]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        return [zf.read(m) for m in zf.infolist()]


def rotated_jpeg() -> bytes:
    """A 30x20 JPEG with EXIF orientation 6: shown (and chunked) as 20x30."""
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (0, 90, 200)).save(out, format="JPEG", exif=exif)
    return out.getvalue()


def manifest_bytes(items: list[tuple[str, int, int]]) -> bytes:
    lines = [{"version": "1.1"}, {"type": "images"}]
    for file_name, width, height in items:
        stem, dot, ext = file_name.rpartition(".")
        lines.append({
            "name": stem, "extension": dot + ext, "width": width, "height": height,
            "meta": {"related_images": []},
        })  # fmt: skip
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


# --- use_cache serves what a prebuilt task serves ---------------------------------------


def test_use_cache_task_serves_the_same_data_as_a_prebuilt_task(cache_server: Any) -> None:
    files = [(f"{i:02d}.png", noise_png(24 + i, 16, seed=i)) for i in range(5)]
    files.append(("05.jpg", rotated_jpeg()))
    params = {"chunk_size": 2, "image_quality": 60}
    prebuilt = Api(cache_server, segment_size=4)
    cached = Api(cache_server, segment_size=4)
    assert prebuilt.create(files, **params)["status"] == "finished"
    assert cached.create(files, use_cache=True, **params)["status"] == "finished"

    # use_cache: originals, meta, manifest and preview only; no chunk and no JPEG frame.
    built = task_dir(cache_server, cached.task_id)
    assert sorted(p.name for p in built.iterdir()) == [
        "frames", "manifest.jsonl", "meta.json", "preview.jpeg",
    ]  # fmt: skip
    assert [p.name for p in (built / "frames").iterdir()] == ["original"]
    assert (task_dir(cache_server, prebuilt.task_id) / "chunks").is_dir()

    meta_a = prebuilt.get(f"/api/tasks/{prebuilt.task_id}/data/meta").json()
    meta_b = cached.get(f"/api/tasks/{cached.task_id}/data/meta").json()
    assert meta_b["storage_method"] == "cache" and meta_a["storage_method"] == "file_system"
    assert meta_a["frames"] == meta_b["frames"]
    assert meta_b["frames"][5] == {"name": "05.jpg", "width": 20, "height": 30, "related_files": 0}
    task_b = cached.get(f"/api/tasks/{cached.task_id}").json()
    assert task_b["data_compressed_chunk_type"] == "imageset"

    for quality in ("compressed", "original"):
        for number in range(3):
            a = members(prebuilt.get(prebuilt.data_url, type="chunk", number=number,
                                     quality=quality))  # fmt: skip
            b = members(cached.get(cached.data_url, type="chunk", number=number, quality=quality))
            assert a == b and len(a) == 2, (quality, number)
    for number in range(6):
        for quality in ("compressed", "original"):
            a = prebuilt.get(prebuilt.data_url, type="frame", number=number, quality=quality)
            b = cached.get(cached.data_url, type="frame", number=number, quality=quality)
            assert a.status_code == b.status_code == 200
            assert a.content == b.content and a.headers["content-type"] == b.headers["content-type"]
    assert (
        prebuilt.get(f"/api/tasks/{prebuilt.task_id}/preview").content
        == cached.get(f"/api/tasks/{cached.task_id}/preview").content
    )

    # Jobs [0..3] and [4, 5]: a job chunk equal to a task chunk and one that is not.
    def second_job(api: Api) -> int:
        jobs = api.get("/api/jobs", task_id=api.task_id, org="", page=1).json()["results"]
        return next(j["id"] for j in jobs if j["start_frame"] == 4)

    ja, jb = second_job(prebuilt), second_job(cached)
    for params_ in ({"index": 0}, {"number": 2}):
        a = members(prebuilt.get(f"/api/jobs/{ja}/data", type="chunk", quality="compressed",
                                 **params_))  # fmt: skip
        b = members(cached.get(f"/api/jobs/{jb}/data", type="chunk", quality="compressed",
                               **params_))  # fmt: skip
        assert a == b and len(a) == 2
    assert (
        prebuilt.get(f"/api/jobs/{ja}/preview").content
        == cached.get(f"/api/jobs/{jb}/preview").content
    )


def test_every_built_task_has_a_manifest_of_its_frames(cache_server: Any) -> None:
    api = Api(cache_server)
    files = [("b.png", image_bytes(7, 5, (1, 2, 3))), ("a.png", image_bytes(9, 4, (1, 2, 3)))]
    assert api.create(files)["status"] == "finished"
    lines = (task_dir(cache_server, api.task_id) / "manifest.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"version": "1.1"},
        {"type": "images"},
        {"name": "a", "extension": ".png", "width": 9, "height": 4, "meta": {"related_images": []}},
        {"name": "b", "extension": ".png", "width": 7, "height": 5, "meta": {"related_images": []}},
    ]


# --- the cache's bound ------------------------------------------------------------------


def test_cache_stays_under_its_limit_and_rebuilds_what_it_evicted(cache_server: Any) -> None:
    # 12 noisy 300x300 PNGs (~270 KB each), 2 per chunk: 6 original chunks of ~540 KB,
    # far more than the 1 MiB cache holds.
    files = [(f"{i:02d}.png", noise_png(300, 300, seed=100 + i)) for i in range(12)]
    api = Api(cache_server)
    assert api.create(files, use_cache=True, chunk_size=2)["status"] == "finished"
    first = members(api.get(api.data_url, type="chunk", number=0, quality="original"))
    assert first == [files[0][1], files[1][1]]
    chunk0 = kept_file(cache_server, api, "chunk", "original", "0-1")
    assert chunk0.is_file()
    for number in range(1, 6):
        got = members(api.get(api.data_url, type="chunk", number=number, quality="original"))
        assert got == [files[2 * number][1], files[2 * number + 1][1]]
        assert kept_bytes(cache_server) <= CACHE_MB * 2**20
    assert not chunk0.exists()  # least recently used: evicted
    again = members(api.get(api.data_url, type="chunk", number=0, quality="original"))
    assert again == first and chunk0.is_file()  # made again, kept again
    assert kept_bytes(cache_server) <= CACHE_MB * 2**20

    # Many clients at once: every answer whole and right, the bound kept.
    def fetch(number: int) -> bool:
        got = members(api.get(api.data_url, type="chunk", number=number % 6, quality="original"))
        return got == [files[2 * (number % 6)][1], files[2 * (number % 6) + 1][1]]

    with ThreadPoolExecutor(6) as pool:
        assert all(pool.map(fetch, range(24)))
    assert kept_bytes(cache_server) <= CACHE_MB * 2**20


def test_deleting_a_task_drops_what_the_cache_holds_for_it(cache_server: Any) -> None:
    api = Api(cache_server)
    files = [(f"{i}.png", image_bytes(6, 6, (i, 0, 0))) for i in range(2)]
    assert api.create(files, use_cache=True, chunk_size=1)["status"] == "finished"
    members(api.get(api.data_url, type="chunk", number=1))
    kept = kept_file(cache_server, api, "chunk", "compressed", "1-1")
    assert kept.is_file()
    assert api.http.delete(f"/api/tasks/{api.task_id}").status_code == 204
    assert not kept.exists()


def test_a_chunk_larger_than_the_cache_is_served_but_not_kept(cache_server: Any) -> None:
    files = [(f"{i}.png", noise_png(300, 300, seed=200 + i)) for i in range(5)]  # ~1.3 MB
    api = Api(cache_server)
    assert api.create(files, use_cache=True, chunk_size=5)["status"] == "finished"
    for _ in range(2):
        got = members(api.get(api.data_url, type="chunk", number=0, quality="original"))
        assert got == [data for _, data in files]
    assert not kept_file(cache_server, api, "chunk", "original", "0-4").exists()
    assert kept_bytes(cache_server) <= CACHE_MB * 2**20


# --- HTTP caching -----------------------------------------------------------------------


def check_conditional(api: Api, path: str, **params: Any) -> str:
    first = api.get(path, **params)
    assert first.status_code == 200, first.text
    tag = first.headers["etag"]
    assert tag.startswith('"') and not tag.startswith("W/")
    assert "private" in first.headers["cache-control"]
    assert first.headers["last-modified"].endswith(" GMT")
    again = api.http.get(path, params=params, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    listed = api.http.get(path, params=params, headers={"If-None-Match": f'"x", W/{tag}'})
    assert listed.status_code == 304
    other = api.http.get(path, params=params, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.content == first.content
    since = api.http.get(
        path, params=params, headers={"If-Modified-Since": first.headers["last-modified"]}
    )
    assert since.status_code == 304
    return tag


@pytest.mark.parametrize("use_cache", [False, True])
def test_etag_and_304_for_frames_chunks_previews_and_meta(
    cache_server: Any, use_cache: bool
) -> None:
    api = Api(cache_server, segment_size=2)
    files = [(f"{i}.png", image_bytes(8 + i, 6, (i * 40, 0, 0))) for i in range(3)]
    assert api.create(files, use_cache=use_cache, chunk_size=2)["status"] == "finished"
    tid = api.task_id
    tags = {
        check_conditional(api, api.data_url, type="frame", number=1),
        check_conditional(api, api.data_url, type="frame", number=1, quality="original"),
        check_conditional(api, api.data_url, type="frame", number=2),
        check_conditional(api, api.data_url, type="chunk", number=0),
        check_conditional(api, api.data_url, type="chunk", number=0, quality="original"),
        check_conditional(api, api.data_url, type="preview"),
        check_conditional(api, f"/api/tasks/{tid}/preview"),
        check_conditional(api, f"/api/tasks/{tid}/data/meta"),
    }
    jobs = api.get("/api/jobs", task_id=tid, org="", page=1).json()["results"]
    job = next(j["id"] for j in jobs if j["start_frame"] == 2)
    tags |= {
        check_conditional(api, f"/api/jobs/{job}/data", type="frame", number=2),
        check_conditional(api, f"/api/jobs/{job}/data", type="chunk", index=0),
        check_conditional(api, f"/api/jobs/{job}/preview"),
        check_conditional(api, f"/api/jobs/{job}/data/meta"),
    }
    assert len(tags) == 12  # every request has its own validator
    meta = api.get(f"/api/tasks/{tid}/data/meta")
    assert meta.headers["cache-control"] == "private, no-cache"
    assert meta.json()["size"] == 3
    # A bad request is still a 400, never a 304 or a cached answer.
    bad = api.get(api.data_url, type="frame", number=9)
    assert bad.status_code == 400 and "etag" not in bad.headers


def test_no_304_without_access(cache_server: Any) -> None:
    api = Api(cache_server)
    assert api.create([("a.png", image_bytes(4, 4, (0, 0, 0)))])["status"] == "finished"
    tag = api.get(api.data_url, type="frame", number=0).headers["etag"]
    anonymous = api.http.get(
        api.data_url, params={"type": "frame", "number": 0},
        headers={"If-None-Match": tag}, auth=("nobody", "wrong-password"),
    )  # fmt: skip
    assert anonymous.status_code == 401


# --- manifests given with the images ----------------------------------------------------


def test_uploaded_manifest_gives_sizes_and_the_predefined_order(cache_server: Any) -> None:
    files = [
        ("c.png", image_bytes(11, 7, (1, 1, 1))),
        ("a.png", image_bytes(12, 8, (2, 2, 2))),
        ("b.jpg", rotated_jpeg()),
    ]
    manifest = manifest_bytes([("b.jpg", 20, 30), ("c.png", 11, 7), ("a.png", 12, 8)])
    for use_cache in (False, True):
        api = Api(cache_server)
        done = api.create(
            [*files, ("manifest.jsonl", manifest)],
            sorting_method="predefined", use_cache=use_cache,
        )  # fmt: skip
        assert done["status"] == "finished", done
        meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
        assert [(f["name"], f["width"], f["height"]) for f in meta["frames"]] == [
            ("b.jpg", 20, 30), ("c.png", 11, 7), ("a.png", 12, 8),
        ]  # fmt: skip
        assert meta["size"] == 3  # the manifest is never a frame
        got = members(api.get(api.data_url, type="chunk", number=0, quality="original"))
        assert got == [files[2][1], files[0][1], files[1][1]]


def test_manifest_inside_an_archive_with_directories(cache_server: Any) -> None:
    archive = zip_bytes({
        "set/x/2.png": image_bytes(5, 5, (0, 0, 0)),
        "set/x/1.png": image_bytes(6, 5, (0, 0, 0)),
        "set/manifest.jsonl": manifest_bytes([("set/x/2.png", 5, 5), ("set/x/1.png", 6, 5)]),
    })  # fmt: skip
    api = Api(cache_server)
    done = api.create([("data.zip", archive)], sorting_method="predefined", use_cache=True)
    assert done["status"] == "finished", done
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert [f["name"] for f in meta["frames"]] == ["set/x/2.png", "set/x/1.png"]


@pytest.mark.parametrize(
    ("listed", "message"),
    [
        (
            [("a.png", 12, 8)],
            "manifest.jsonl: the manifest does not match the files: it does not list c.png",
        ),
        (
            [("a.png", 12, 8), ("c.png", 11, 7), ("d.png", 1, 1)],
            "it lists d.png, which is not among the task's files",
        ),
        (
            [("a.png", 12, 8), ("c.png", 11, 9)],
            "manifest.jsonl: c.png is 11x9 in the manifest but the image is 11x7",
        ),
    ],
)
def test_a_manifest_that_does_not_match_fails_the_request_naming_it(
    cache_server: Any, listed: list[tuple[str, int, int]], message: str
) -> None:
    files = [("c.png", image_bytes(11, 7, (1, 1, 1))), ("a.png", image_bytes(12, 8, (2, 2, 2)))]
    api = Api(cache_server)
    done = api.create([*files, ("manifest.jsonl", manifest_bytes(listed))], use_cache=True)
    assert done["status"] == "failed" and message in done["message"], done
    assert api.get(f"/api/tasks/{api.task_id}/data/meta").status_code == 404
    assert not task_dir(cache_server, api.task_id).exists()


def test_a_manifest_alone_is_no_data(cache_server: Any) -> None:
    api = Api(cache_server)
    done = api.create([("manifest.jsonl", manifest_bytes([("a.png", 1, 1)]))])
    assert done["status"] == "failed"
    assert done["message"] == (
        "No media data found: manifest.jsonl is a manifest without images or a video; "
        "upload the files it lists too."
    )


def test_a_broken_manifest_is_a_400_naming_the_line(cache_server: Any) -> None:
    api = Api(cache_server)
    api.start()
    broken = b'{"version":"1.1"}\n{"type":"images"}\n{"name":"a","extension":".png","width":-1}\n'
    r = api.send([("a.png", image_bytes(3, 3, (0, 0, 0))), ("manifest.jsonl", broken)])
    assert r.status_code == 400
    assert "manifest.jsonl: line 3: width and height go together" in r.text


# --- cvat-sdk -------------------------------------------------------------------------------


def test_cvat_sdk_creates_and_reads_a_use_cache_task(cache_server: Any, tmp_path: Path) -> None:
    from cvat_sdk import make_client

    paths = []
    for i, color in enumerate([(200, 10, 10), (10, 200, 10), (10, 10, 200)]):
        path = tmp_path / f"frame_{i}.png"
        Image.new("RGB", (32 + i, 24), color).save(path)
        paths.append(str(path))
    host, port = cache_server.url.rsplit(":", 1)
    with make_client(host, port=int(port), credentials=cache_server.admin) as client:
        client.config.status_check_period = 0.2
        task = client.tasks.create_from_data(
            spec={"name": "sdk cache", "labels": [{"name": "car"}], "segment_size": 2},
            resources=paths,
            data_params={"use_cache": True, "chunk_size": 2, "image_quality": 80},
        )
        assert task.size == 3 and task.data_compressed_chunk_type == "imageset"
        meta = task.get_meta()
        assert meta.storage_method == "cache"
        assert [(f.width, f.height) for f in meta.frames] == [(32, 24), (33, 24), (34, 24)]
        with Image.open(task.get_frame(1)) as image:
            assert image.format == "JPEG" and image.size == (33, 24)
            assert image.convert("RGB").getpixel((5, 5))[1] > 150
        for number, expected in ((0, 2), (1, 1)):
            for quality in ("compressed", "original"):
                chunk = io.BytesIO()
                task.download_chunk(number, chunk, quality=quality)
                with zipfile.ZipFile(chunk) as zf:
                    assert len(zf.infolist()) == expected
        with zipfile.ZipFile(chunk) as zf:
            assert zf.read(zf.infolist()[0]) == Path(paths[2]).read_bytes()
        job = next(j for j in task.get_jobs() if j.start_frame == 2)
        with Image.open(job.get_frame(2, quality="compressed")) as image:
            assert image.size == (34, 24)


def test_a_broken_image_found_when_its_chunk_is_made_is_a_400_naming_it(
    cache_server: Any,
) -> None:
    # use_cache reads only the headers of all but the first image at creation, so a
    # truncated body shows when its chunk is made: a 400 naming it, never a 500.
    whole = noise_png(40, 40, seed=7)
    files = [("a.png", image_bytes(40, 40, (0, 0, 0))), ("b.png", whole[: len(whole) // 2])]
    api = Api(cache_server)
    done = api.create(files, use_cache=True, chunk_size=1)
    assert done["status"] == "finished", done
    assert members(api.get(api.data_url, type="chunk", number=0)) != []
    broken = api.get(api.data_url, type="chunk", number=1)
    assert broken.status_code == 400 and "b.png: cannot decode the image" in broken.text
    frame = api.get(api.data_url, type="frame", number=1)
    assert frame.status_code == 400 and "b.png" in frame.text
    original = api.get(api.data_url, type="chunk", number=1, quality="original")
    assert members(original) == [files[1][1]]  # the bytes as uploaded are still served
