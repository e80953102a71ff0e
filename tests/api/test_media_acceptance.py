"""What a new user ran into against `make run` (the acceptance pass of #6): each test is one
finding, run through the real server process with its own database and Redis db."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_task_data import Api, image_bytes

INT_MAX = 2**31 - 1


@pytest.fixture(scope="module")
def accept_server(services: Any, template_db: str) -> Iterator[Any]:
    from tests.conftest import api_server

    with api_server(services, template_db, redis_db=11) as running:
        yield running


@pytest.fixture
def api(accept_server: Any) -> Api:
    return Api(accept_server)


def _task_files(server: Any, task_id: int) -> list[Path]:
    root = Path(server.data_dir) / "data" / "tasks" / str(task_id)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _one_request(api: Api, **fields: str) -> Any:
    """CVAT's one-request form: files and parameters in one multipart POST."""
    return api.http.post(
        api.data_url,
        data={"image_quality": "70", **fields},
        files=[("client_files[0]", ("a.png", image_bytes(8, 6, (1, 2, 3))))],
    )


@pytest.mark.parametrize("field", ["chunk_size", "start_frame", "stop_frame"])
def test_a_number_past_the_integer_columns_is_a_400_and_the_server_keeps_working(
    api: Api, field: str
) -> None:
    # Once accepted, such a value was recorded in TaskDataAttached and the projector could
    # never store it: every later write answered 503 for good.
    for value in (INT_MAX + 1, 10**23):
        r = _one_request(api, **{field: str(value)})
        assert r.status_code == 400, r.text
        assert r.json() == {field: [f"Ensure this value is less than or equal to {INT_MAX}."]}
        api.start()
        r = api.http.post(
            api.data_url, headers={"Upload-Finish": ""}, json={field: value, "server_files": []}
        )
        assert r.status_code == 400, r.text
        assert str(INT_MAX) in r.text  # the JSON door's check or the field's
    done = api.create([("b.png", image_bytes(8, 6, (4, 5, 6)))], chunk_size=INT_MAX)
    assert done["status"] == "finished", done
    assert api.get(f"/api/tasks/{api.task_id}").json()["size"] == 1
    assert api.new_task() > api.task_id  # writes still go through the read models


def test_a_huge_cloud_storage_id_is_a_400(api: Api) -> None:
    r = api.http.post(
        api.data_url,
        json={"cloud_storage_id": 10**20, "server_files": ["a.jpg"]},
    )
    assert r.status_code == 400, r.text
    assert str(INT_MAX) in r.text
    r = _one_request(api, cloud_storage_id=str(10**20), **{"server_files[0]": "a.jpg"})
    assert r.status_code == 400, r.text
    assert r.json() == {
        "cloud_storage_id": [f"Ensure this value is less than or equal to {INT_MAX}."]
    }


def test_refused_parameters_of_the_one_request_form_keep_no_file(
    api: Api, accept_server: Any
) -> None:
    for fields in ({"chunk_size": "0"}, {"sorting_method": "weird"}, {"image_quality": "x"}):
        r = _one_request(api, **fields)
        assert r.status_code == 400, r.text
        assert _task_files(accept_server, api.task_id) == [], fields
    # The task still takes data afterwards.
    r = _one_request(api)
    assert r.status_code == 202, r.text
    assert api.wait(r.json()["rq_id"])["status"] == "finished"


def _bomb_zip(tail_bytes: int) -> bytes:
    """A zip whose one member is a small JPEG followed by `tail_bytes` zeros: it sniffs as
    an image and deflates about 1000:1."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("big.jpg", "w") as member:
            member.write(image_bytes(16, 12, (9, 9, 9), "JPEG"))
            zero = bytes(2**20)
            for _ in range(tail_bytes // 2**20):
                member.write(zero)
    return out.getvalue()


def test_an_image_member_far_larger_than_its_pixels_is_refused(
    api: Api, accept_server: Any
) -> None:
    data = _bomb_zip(80 * 2**20)
    assert len(data) < 2**20
    r = api.http.post(
        api.data_url,
        data={"image_quality": "70"},
        files=[("client_files[0]", ("bomb.zip", data))],
    )
    assert r.status_code == 400, r.text
    message = r.json()["client_files"][0]
    assert message.startswith("bomb.zip: member 'big.jpg' unpacks to ") and "16x12" in message
    assert _task_files(accept_server, api.task_id) == []
    # Trailing data within the slack is still an image, as before.
    done = api.create([("small.zip", _bomb_zip(2 * 2**20))])
    assert done["status"] == "finished", done


def test_finishing_an_upload_twice_at_once_starts_one_creation(api: Api) -> None:
    # The 409 check and the request insert were apart: two requests sent together both
    # got a 202 and built the task's data side by side.
    import threading

    import httpx

    api.start()
    assert api.send([("a.png", image_bytes(8, 6, (1, 2, 3)))]).status_code == 200
    codes: list[int] = []
    barrier = threading.Barrier(10)

    def finish() -> None:
        with httpx.Client(base_url=str(api.http.base_url), auth=api.http.auth) as http:
            barrier.wait()
            r = http.post(api.data_url, headers={"Upload-Finish": ""}, json={})
            codes.append(r.status_code)

    threads = [threading.Thread(target=finish) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [202] + [409] * 9, codes


def test_a_creation_removes_build_directories_a_killed_process_left(
    api: Api, accept_server: Any
) -> None:
    import uuid

    stale = (
        Path(accept_server.data_dir) / "data" / "tasks" / str(api.task_id) / "build"
        / str(uuid.uuid4())
    )  # fmt: skip
    (stale / "frames").mkdir(parents=True)
    (stale / "frames" / "000001.jpeg").write_bytes(b"half-written")
    stale.with_name(f"{stale.name}-sources").mkdir()
    done = api.create([("a.png", image_bytes(8, 6, (1, 2, 3)))])
    assert done["status"] == "finished", done
    assert list(stale.parent.iterdir()) == []


def test_a_chunk_made_on_request_does_not_depend_on_when_it_was_made(api: Api) -> None:
    # A use_cache chunk is made again after the cache evicts it; its zip members carried
    # the time of writing, so the same strong ETag came with different bytes.
    import io
    import zipfile

    done = api.create(
        [(f"{i}.png", image_bytes(8, 6, (i, 2, 3))) for i in range(3)], use_cache=True
    )
    assert done["status"] == "finished", done
    r = api.get(api.data_url, type="chunk", number=0, quality="compressed")
    assert r.status_code == 200, r.text
    members = zipfile.ZipFile(io.BytesIO(r.content)).infolist()
    assert [m.filename for m in members] == ["000000.jpeg", "000001.jpeg", "000002.jpeg"]
    assert {m.date_time for m in members} == {(1980, 1, 1, 0, 0, 0)}


@pytest.mark.parametrize("field", ["remote_files", "server_files"])
def test_a_path_or_url_past_1024_characters_is_a_short_400(api: Api, field: str) -> None:
    # A 100,000-character URL came back whole in the 400 (CVAT keeps at most 1024).
    entry = "http://example.com/" + "a" * 100_000 + ".jpg"
    r = api.http.post(api.data_url, json={field: [entry]})
    assert r.status_code == 400, r.text
    assert len(r.content) < 400
    assert r.json()[field][0].endswith("...: longer than 1024 characters")


def test_predefined_order_names_the_uploaded_archives_as_cvat_sdk_sends_it(api: Api) -> None:
    # `cvat-cli task create --sorting-method predefined ... local imgs.zip` failed with
    # "upload_file_order must list exactly the uploaded files (not listed: <members>...)":
    # the SDK names the files it uploads, and CVAT keeps each archive's own order.
    from tests.api.test_task_data import zip_bytes

    def png(i: int) -> bytes:
        return image_bytes(8, 6, (i, 1, 1))

    a = zip_bytes({"z.png": png(1), "a.png": png(2)})
    b = zip_bytes({"m.png": png(3), "b.png": png(4)})
    done = api.create(
        [("a.zip", a), ("b.zip", b), ("c.png", png(5))],
        sorting_method="predefined",
        upload_file_order=["b.zip", "c.png", "a.zip"],
    )
    assert done["status"] == "finished", done
    frames = api.get(f"/api/tasks/{api.task_id}/data/meta").json()["frames"]
    assert [f["name"] for f in frames] == ["m.png", "b.png", "c.png", "z.png", "a.png"]


def test_a_url_encoded_form_is_read_like_a_multipart_one(api: Api) -> None:
    # `curl -d 'server_files[0]=...'` (DRF's FormParser) was answered "JSON is malformed".
    r = api.http.post(
        api.data_url,
        content=b"image_quality=70&sorting_method=weird&remote_files%5B0%5D=file%3A%2F%2F%2Fx",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400, r.text
    assert r.json() == {"sorting_method": ["Invalid enum value 'weird'"]}
    r = api.http.post(
        api.data_url,
        content=b"image_quality=70&remote_files%5B0%5D=file%3A%2F%2F%2Fx",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["remote_files"][0].startswith("file:///x: only http and https URLs")
