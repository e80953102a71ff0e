"""Exports through the real server (#7): an export of an object that has not changed since
an earlier one reuses that archive (CVAT's export cache), and a video task's frames are
named after their numbers in the video (start_frame + n * step), as CVAT names them."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from tests.api.test_dataset_io import (
    COCO,
    LABELS,
    annotate,
    box,
    export,
    jobs,
    labels,
    new_task,
    upload_annotations,
)
from tests.api.test_task_data import Api

XML = "CVAT for images 1.1"


def _xml(api: Api, done: dict[str, Any]) -> str:
    assert done["status"] == "finished", done
    with zipfile.ZipFile(io.BytesIO(api.http.get(done["result_url"]).content)) as zf:
        return zf.read("annotations.xml").decode()


def _dumped(xml: str) -> str:
    found = re.search(r"<dumped>(.*)</dumped>", xml)
    assert found is not None
    return found.group(1)


def test_an_unchanged_task_reuses_its_export_and_a_change_makes_a_new_one(server: Any) -> None:
    api = new_task(server)
    annotate(api)
    path = f"/api/tasks/{api.task_id}/dataset/export"
    first = _xml(api, export(api, path, format=XML))
    r = api.http.post(path, params={"format": XML, "filename": "again.zip"})
    assert r.status_code == 202, r.text
    again = api.http.get(f"/api/requests/{r.json()['rq_id']}").json()
    assert again["status"] == "finished", again  # at once: nothing to export
    download = api.http.get(again["result_url"])
    assert download.headers["content-disposition"] == 'attachment; filename="again.zip"'
    with zipfile.ZipFile(io.BytesIO(download.content)) as zf:
        # the same archive: a new export would carry a new <dumped> time
        assert zf.read("annotations.xml").decode() == first
    # another format, or with images, is another export
    assert _dumped(_xml(api, export(api, path, format=XML, save_images="true"))) != _dumped(first)

    car = labels(api)["car"]
    assert api.http.patch(f"/api/tasks/{api.task_id}/annotations", params={"action": "create"},
                          json={"shapes": [box(1, car, 40.0)], "tags": [], "tracks": []}
                          ).status_code == 200  # fmt: skip
    changed = _xml(api, export(api, path, format=XML))
    assert _dumped(changed) != _dumped(first) and 'xtl="40.00"' in changed


def test_a_job_export_is_reused_while_only_other_jobs_change(server: Any) -> None:
    api = new_task(server)
    annotate(api)
    first_job, second_job = jobs(api)
    path = f"/api/jobs/{first_job['id']}/dataset/export"
    before = _xml(api, export(api, path, format=XML))
    car = labels(api)["car"]
    r = api.http.patch(f"/api/jobs/{second_job['id']}/annotations", params={"action": "create"},
                       json={"shapes": [box(3, car, 30.0)], "tags": [], "tracks": []})  # fmt: skip
    assert r.status_code == 200, r.text
    assert _xml(api, export(api, path, format=XML)) == before
    r = api.http.patch(f"/api/jobs/{first_job['id']}/annotations", params={"action": "create"},
                       json={"shapes": [box(0, car, 30.0)], "tags": [], "tracks": []})  # fmt: skip
    assert r.status_code == 200, r.text
    assert _xml(api, export(api, path, format=XML)) != before


def test_a_project_export_is_not_reused_once_a_task_is_gone(server: Any) -> None:
    api = new_task(server)
    project = api.http.post("/api/projects", json={"name": "reuse", "labels": LABELS}).json()
    tasks = []
    for _ in range(2):
        member = Api(server, project_id=project["id"], labels=[])
        assert member.create(_png_files())["status"] == "finished"
        tasks.append(member.task_id)
    path = f"/api/projects/{project['id']}/dataset/export"
    first = _xml(api, export(api, path, format=XML))
    assert _xml(api, export(api, path, format=XML)) == first
    assert api.http.delete(f"/api/tasks/{tasks[1]}").status_code == 204
    after = _xml(api, export(api, path, format=XML))
    assert after != first and f"<id>{tasks[1]}</id>" not in after


def _png_files() -> list[tuple[str, bytes]]:
    from tests.api.test_task_data import image_bytes

    return [(f"img_{i}.png", image_bytes(32, 24, (i, 9, 9))) for i in range(2)]


def test_video_frames_are_named_after_their_number_in_the_video(
    server: Any, tmp_path: Path
) -> None:
    from tests.api.test_task_video import video_bytes

    api = Api(server, labels=LABELS, segment_size=10)
    done = api.create([("clip.mp4", video_bytes(tmp_path, frames=12))],
                      start_frame=2, frame_filter="step=3")  # fmt: skip
    assert done["status"] == "finished", done
    car = labels(api)["car"]
    body = {"shapes": [box(1, car, 4.0)], "tags": [], "tracks": []}
    assert api.http.put(f"/api/tasks/{api.task_id}/annotations", json=body).status_code == 200
    # frames 0..3 of the task are frames 2, 5, 8, 11 of the video
    xml = _xml(api, export(api, f"/api/tasks/{api.task_id}/dataset/export", format=XML))
    assert re.findall(r'<image id="(\d+)" name="([^"]+)"', xml) == [
        ("2", "frame_000002"), ("5", "frame_000005"), ("8", "frame_000008"), ("11", "frame_000011")
    ]  # fmt: skip
    done = export(api, f"/api/tasks/{api.task_id}/dataset/export", save_images="true")
    archive = api.http.get(done["result_url"]).content
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        images = json.loads(zf.read("annotations/instances_default.json"))["images"]
        assert [i["file_name"] for i in images] == [f"frame_{n:06d}.png" for n in (2, 5, 8, 11)]
        (annotation,) = json.loads(zf.read("annotations/instances_default.json"))["annotations"]
        assert images[[i["id"] for i in images].index(annotation["image_id"])]["file_name"] == (
            "frame_000005.png"
        )
    # and the names bring each annotation back to its frame
    assert api.http.delete(f"/api/tasks/{api.task_id}/annotations").status_code == 204
    assert upload_annotations(api, COCO, "video.zip", archive)["status"] == "finished"
    (shape,) = api.http.get(f"/api/tasks/{api.task_id}/annotations").json()["shapes"]
    assert (shape["frame"], shape["points"][0]) == (1, 4.0)


def test_a_task_of_images_keeps_its_file_names(server: Any) -> None:
    api = new_task(server)
    annotate(api)
    xml = _xml(api, export(api, f"/api/tasks/{api.task_id}/dataset/export", format=XML))
    assert re.findall(r'name="(img_\d\.png)"', xml) == [f"img_{i}.png" for i in range(4)]
