"""Task data through the real server process: CVAT's upload protocol (multipart batches,
TUS, Upload-Finish), the data it builds (frames, chunks, meta, previews, for tasks and
jobs) and the requests API that reports on the work."""

from __future__ import annotations

import base64
import io
import itertools
import time
import zipfile
from typing import Any

import httpx
import psycopg
import pytest
from PIL import Image

_ids = itertools.count(int(time.time()) % 100_000 * 10 + 500_000)


def image_bytes(width: int, height: int, color: tuple[int, int, int], fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format=fmt)
    return out.getvalue()


def noise_png(width: int, height: int, seed: int) -> bytes:
    import random

    rng = random.Random(seed)
    image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


class Api:
    def __init__(self, server: Any, auth: tuple[str, str] | None = None, **task: Any) -> None:
        self.http = httpx.Client(base_url=server.url, auth=auth or server.admin, timeout=30)
        self.task_id = self.new_task(**task)

    def new_task(self, **fields: Any) -> int:
        body = {"name": f"media {next(_ids)}", "labels": [{"name": "car"}], **fields}
        r = self.http.post("/api/tasks", json=body)
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    @property
    def data_url(self) -> str:
        return f"/api/tasks/{self.task_id}/data/"

    def start(self) -> None:
        r = self.http.post(self.data_url, headers={"Upload-Start": ""})
        assert r.status_code == 202, r.text

    def send(self, files: list[tuple[str, bytes]]) -> httpx.Response:
        return self.http.post(
            self.data_url,
            headers={"Upload-Multiple": ""},
            data={"image_quality": "70"},
            files=[(f"client_files[{i}]", (name, data)) for i, (name, data) in enumerate(files)],
        )

    def finish(self, **params: Any) -> str:
        r = self.http.post(self.data_url, headers={"Upload-Finish": ""}, json=params)
        assert r.status_code == 202, r.text
        return str(r.json()["rq_id"])

    def wait(self, rq_id: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.http.get(f"/api/requests/{rq_id}")
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            if body["status"] in ("finished", "failed"):
                return body
            time.sleep(0.1)
        raise AssertionError(f"request {rq_id} did not end")

    def create(self, files: list[tuple[str, bytes]], **params: Any) -> dict[str, Any]:
        self.start()
        r = self.send(files)
        assert r.status_code == 200, r.text
        return self.wait(self.finish(**params))

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)


@pytest.fixture
def api(server: Any) -> Api:
    return Api(server)


def test_multipart_upload_builds_frames_chunks_meta_and_preview(api: Api) -> None:
    files = [
        ("/home/u/pics/img_10.png", image_bytes(40, 30, (255, 0, 0))),
        ("C:\\data\\img_2.png", image_bytes(50, 20, (0, 255, 0))),
        ("img_1.jpg", image_bytes(64, 48, (0, 0, 255), "JPEG")),
    ]
    done = api.create(files, image_quality=50, sorting_method="natural", chunk_size=2)
    assert done["status"] == "finished", done
    assert done["message"] == "" and done["progress"] == 1.0
    assert done["operation"]["type"] == "create:task"
    assert done["operation"]["task_id"] == api.task_id
    assert done["owner"]["username"] == "admin"
    assert done["result_url"] is None and done["result_id"] is None

    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert [f["name"] for f in meta["frames"]] == ["img_1.jpg", "img_2.png", "img_10.png"]
    assert [(f["width"], f["height"]) for f in meta["frames"]] == [(64, 48), (50, 20), (40, 30)]
    assert all(f["related_files"] == 0 for f in meta["frames"])
    assert meta["size"] == 3 and meta["chunk_size"] == 2 and meta["image_quality"] == 50
    assert meta["deleted_frames"] == [] and meta["chunks_updated_date"].endswith("Z")

    compressed = api.get(api.data_url, type="frame", number=2)
    assert compressed.status_code == 200
    assert compressed.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(compressed.content)) as image:
        assert image.format == "JPEG" and image.size == (40, 30)
        r, g, b = image.convert("RGB").getpixel((20, 15))
        assert r > 200 and g < 60 and b < 60
    original = api.get(api.data_url, type="frame", number=1, quality="original")
    assert original.content == files[1][1]
    assert original.headers["content-type"] == "image/png"

    chunk0 = api.get(api.data_url, type="chunk", number=0, quality="compressed")
    assert chunk0.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(chunk0.content)) as zf:
        members = zf.infolist()
        assert len(members) == 2
        with Image.open(zf.open(members[1])) as image:
            assert image.size == (50, 20) and image.format == "JPEG"
    chunk1 = api.get(api.data_url, type="chunk", number=1, quality="original")
    with zipfile.ZipFile(io.BytesIO(chunk1.content)) as zf:
        assert [zf.read(m) for m in zf.infolist()] == [files[0][1]]
    bad = api.get(api.data_url, type="chunk", number=2)
    assert bad.status_code == 400 and "number" in bad.json()
    assert api.get(api.data_url, type="frame", number=3).status_code == 400

    for url in (f"/api/tasks/{api.task_id}/preview", api.data_url + "?type=preview"):
        preview = api.http.get(url)
        assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
        with Image.open(io.BytesIO(preview.content)) as image:
            assert image.size == (64, 48)


def test_tus_upload_in_two_chunks(api: Api, server: Any) -> None:
    big = noise_png(300, 200, seed=1)
    small = image_bytes(10, 10, (9, 9, 9))
    api.start()
    assert api.send([("/tmp/a.png", small)]).status_code == 200
    created = api.http.post(
        api.data_url,
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(big)),
            "Upload-Metadata": "filename " + base64.b64encode(b"b.png").decode(),
        },
    )
    assert created.status_code == 201, created.text
    assert created.headers["Upload-Filename"] == "b.png"
    location = created.headers["Location"]
    assert location.startswith(server.url + f"/api/tasks/{api.task_id}/data/")
    half = len(big) // 2
    tus = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}
    first = api.http.patch(location, headers={**tus, "Upload-Offset": "0"}, content=big[:half])
    assert first.status_code == 204 and first.headers["Upload-Offset"] == str(half)
    head = api.http.head(location, headers={"Tus-Resumable": "1.0.0"})
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(half)
    stale = api.http.patch(location, headers={**tus, "Upload-Offset": "0"}, content=big[:10])
    assert stale.status_code == 409 and stale.headers["Upload-Offset"] == str(half)
    second = api.http.patch(
        location, headers={**tus, "Upload-Offset": str(half)}, content=big[half:]
    )
    assert second.status_code == 204 and second.headers["Upload-Offset"] == str(len(big))

    done = api.wait(api.finish(image_quality=90))
    assert done["status"] == "finished", done
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert [f["name"] for f in meta["frames"]] == ["a.png", "b.png"]
    original = api.get(api.data_url, type="frame", number=1, quality="original")
    assert original.content == big


def test_zip_archive_of_images_keeps_archive_paths_and_skips_junk(api: Api) -> None:
    archive = zip_bytes(
        {
            "set/b.png": image_bytes(8, 8, (1, 2, 3)),
            "set/a.jpg": image_bytes(9, 7, (3, 2, 1), "JPEG"),
            "__MACOSX/set/._a.jpg": b"junk",
            "set/notes.txt": b"not a frame",
        }
    )
    done = api.create([("/x/archive.zip", archive)], image_quality=70)
    assert done["status"] == "finished", done
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert [(f["name"], f["width"]) for f in meta["frames"]] == [("set/a.jpg", 9), ("set/b.png", 8)]


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        ("readme.txt", b"hello, I am not an image", "readme.txt"),
        ("broken.zip", b"PK\x03\x04 this is no zip at all", "broken.zip"),
        ("evil.zip", zip_bytes({"../../etc/x.png": image_bytes(2, 2, (0, 0, 0))}), "evil.zip"),
        ("mixed.zip", zip_bytes({"ok.png": image_bytes(2, 2, (0, 0, 0)), "bad.png": b"x"}), "bad"),
    ],
)
def test_bad_file_is_a_400_naming_it_and_nothing_is_kept(
    api: Api, name: str, payload: bytes, expected: str
) -> None:
    api.start()
    good = ("good.png", image_bytes(4, 4, (5, 5, 5)))
    r = api.send([good, (f"/client/{name}", payload)])
    assert r.status_code == 400
    assert expected in r.json()["client_files"][0]
    finish = api.http.post(api.data_url, headers={"Upload-Finish": ""}, json={"image_quality": 70})
    assert finish.status_code == 400  # the good file of the same request was not kept
    assert "client_files" in finish.json()


def test_symlink_in_zip_is_refused(api: Api) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        link = zipfile.ZipInfo("link.png")
        link.external_attr = (0o120777 << 16) | 0
        zf.writestr(link, "/etc/passwd")
    api.start()
    r = api.send([("a.zip", out.getvalue())])
    assert r.status_code == 400 and "symbolic link" in r.json()["client_files"][0]


def test_finish_validates_parameters(api: Api) -> None:
    api.start()
    assert api.send([("a.png", image_bytes(4, 4, (1, 1, 1)))]).status_code == 200
    r = api.http.post(api.data_url, headers={"Upload-Finish": ""}, json={"image_quality": 101})
    assert r.status_code == 400 and "image_quality" in r.json()
    r = api.http.post(api.data_url, headers={"Upload-Finish": ""}, json={"frame_filter": "every=2"})
    assert r.status_code == 400 and "frame_filter" in r.json()


def test_start_stop_and_step_select_frames(api: Api) -> None:
    files = [(f"f{i}.png", image_bytes(4 + i, 4, (i, i, i))) for i in range(7)]
    done = api.create(files, image_quality=70, start_frame=1, stop_frame=5, frame_filter="step=2")
    assert done["status"] == "finished", done
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert [f["name"] for f in meta["frames"]] == ["f1.png", "f3.png", "f5.png"]
    assert (meta["start_frame"], meta["stop_frame"], meta["frame_filter"]) == (1, 5, "step=2")


def test_predefined_order_from_upload_file_order(api: Api) -> None:
    files = [(n, image_bytes(4, 4, (0, 0, 0))) for n in ("c.png", "a.png", "b.png")]
    done = api.create(
        files, sorting_method="predefined", upload_file_order=["b.png", "c.png", "a.png"]
    )
    assert done["status"] == "finished", done
    meta = api.get(f"/api/tasks/{api.task_id}/data/meta").json()
    assert [f["name"] for f in meta["frames"]] == ["b.png", "c.png", "a.png"]


def test_second_upload_is_refused_once_data_exists(api: Api) -> None:
    assert api.create([("a.png", image_bytes(4, 4, (1, 1, 1)))])["status"] == "finished"
    r = api.http.post(api.data_url, headers={"Upload-Start": ""})
    assert r.status_code == 400


def test_task_without_data_has_no_meta(api: Api) -> None:
    assert api.get(f"/api/tasks/{api.task_id}/data/meta").status_code == 404
    assert api.get(api.data_url, type="frame", number=0).status_code == 404


def test_job_data_is_limited_to_the_job_range(server: Any) -> None:
    api = Api(server, segment_size=3)
    files = [(f"{i:02d}.png", image_bytes(10 + i, 10, (i * 20, 0, 0))) for i in range(5)]
    assert api.create(files, chunk_size=2)["status"] == "finished"
    task = api.get(f"/api/tasks/{api.task_id}").json()
    assert task["size"] == 5
    jobs = api.get("/api/jobs", task_id=api.task_id, org="", page=1).json()["results"]
    ranges = sorted((j["start_frame"], j["stop_frame"], j["id"]) for j in jobs)
    assert [(a, b) for a, b, _ in ranges] == [(0, 2), (3, 4)]
    first, second = ranges[0][2], ranges[1][2]

    meta = api.get(f"/api/jobs/{second}/data/meta").json()
    assert meta["size"] == 2 and (meta["start_frame"], meta["stop_frame"]) == (3, 4)
    assert [f["name"] for f in meta["frames"]] == ["03.png", "04.png"]
    assert api.get(f"/api/jobs/{first}/data/meta").json()["size"] == 3

    url = f"/api/jobs/{second}/data"
    frame = api.get(url, type="frame", number=3, quality="original")
    assert frame.status_code == 200 and frame.content == files[3][1]
    assert api.get(url, type="frame", number=2).status_code == 400
    assert api.get(f"/api/jobs/{first}/data", type="frame", number=3).status_code == 400

    def chunk(**params: Any) -> list[bytes]:
        r = api.get(url, type="chunk", quality="original", **params)
        assert r.status_code == 200, r.text
        with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
            return [zf.read(m) for m in zf.infolist()]

    # Task chunks are [0, 1], [2, 3], [4]; `number` is a task chunk limited to the job.
    assert chunk(number=1) == [files[3][1]]
    assert chunk(number=2) == [files[4][1]]
    # `index` counts the job's own chunks.
    assert chunk(index=0) == [files[3][1], files[4][1]]
    assert api.get(url, type="chunk", number=0).status_code == 400
    assert api.get(url, type="chunk", index=1).status_code == 400

    preview = api.http.get(f"/api/jobs/{second}/preview")
    with Image.open(io.BytesIO(preview.content)) as image:
        assert image.size == (13, 10)


def test_requests_list_and_visibility(api: Api, server: Any) -> None:
    done = api.create([("a.png", image_bytes(4, 4, (1, 1, 1)))])
    listing = api.get("/api/requests", page=1)
    assert listing.status_code == 200
    body = listing.json()
    assert {"count", "next", "previous", "results"} <= set(body)
    assert done["id"] in [r["id"] for r in body["results"]] or body["next"]
    filtered = api.get("/api/requests", task_id=api.task_id).json()
    assert [r["id"] for r in filtered["results"]] == [done["id"]]

    other = _user(server, "media-other")
    stranger = httpx.Client(base_url=server.url, auth=other)
    assert stranger.get(f"/api/requests/{done['id']}").status_code == 404
    assert stranger.get("/api/requests", params={"task_id": api.task_id}).json()["count"] == 0
    assert stranger.post(f"/api/requests/{done['id']}/cancel").status_code == 404
    assert api.http.get("/api/requests/not-a-uuid").status_code == 404
    # A finished request cannot be cancelled.
    assert api.http.post(f"/api/requests/{done['id']}/cancel").status_code == 400


def test_cancel_stops_the_work_and_keeps_no_data(api: Api) -> None:
    files = [(f"n{i:03d}.png", noise_png(400, 300, seed=i)) for i in range(60)]
    api.start()
    assert api.send(files).status_code == 200
    rq_id = api.finish(image_quality=95)
    assert api.http.post(f"/api/requests/{rq_id}/cancel").status_code == 200
    done = api.wait(rq_id)
    assert done["status"] == "failed" and "cancelled" in done["message"]
    assert api.get(f"/api/tasks/{api.task_id}/data/meta").status_code == 404


def _user(server: Any, username: str) -> tuple[str, str]:
    from argon2 import PasswordHasher

    password = "Other-passw0rd!"
    with psycopg.connect(server.database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (id, username, password_hash) VALUES (nextval('user_ids'), %s, %s)"
            " ON CONFLICT (username) DO NOTHING",
            [username, PasswordHasher().hash(password)],
        )
    return username, password


def test_cvat_sdk_creates_a_task_from_images_and_reads_frames_meta_chunks(
    server: Any, tmp_path: Any
) -> None:
    from cvat_sdk import make_client

    paths = []
    for i, color in enumerate([(200, 10, 10), (10, 200, 10), (10, 10, 200)]):
        path = tmp_path / f"frame_{i}.png"
        Image.new("RGB", (32 + i, 24), color).save(path)
        paths.append(str(path))
    host, port = server.url.rsplit(":", 1)
    with make_client(host, port=int(port), credentials=server.admin) as client:
        client.config.status_check_period = 0.2
        task = client.tasks.create_from_data(
            spec={"name": "sdk media", "labels": [{"name": "car"}], "segment_size": 2},
            resources=paths,
            data_params={"image_quality": 80},
        )
        assert task.size == 3
        meta = task.get_meta()
        assert [f.name for f in meta.frames] == ["frame_0.png", "frame_1.png", "frame_2.png"]
        assert [(f.width, f.height) for f in meta.frames] == [(32, 24), (33, 24), (34, 24)]
        with Image.open(task.get_frame(1)) as image:
            assert image.size == (33, 24)
            assert image.convert("RGB").getpixel((5, 5))[1] > 150
        with Image.open(task.get_frame(2, quality="original")) as image:
            assert image.format == "PNG" and image.size == (34, 24)
        chunk = io.BytesIO()
        task.download_chunk(0, chunk, quality="original")
        with zipfile.ZipFile(chunk) as zf:
            assert len(zf.infolist()) == 3
        with Image.open(task.get_preview()) as image:
            assert image.size == (32, 24)
        jobs = task.get_jobs()
        assert sorted((j.start_frame, j.stop_frame) for j in jobs) == [(0, 1), (2, 2)]
        job = next(j for j in jobs if j.start_frame == 2)
        assert [f.name for f in job.get_meta().frames] == ["frame_2.png"]
        # (the SDK's Job.get_frame needs an explicit quality: None fails client-side)
        with Image.open(job.get_frame(2, quality="compressed")) as image:
            assert image.size == (34, 24)
