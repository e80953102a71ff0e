"""A project exported in a format is ONE dataset whose subsets are its tasks' subsets (CVAT's
ProjectData), and importing that archive into a new project gives the subsets back as
tasks with the same images and annotations (#7), for several formats."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.test_dataset_import_report import _by_frame_name, _import_dataset, _project, _tasks
from tests.api.test_dataset_io import labels, wait
from tests.api.test_task_data import Api, image_bytes

# (task subset, [(file name, width, height, colour, label, box x)]): a second a.png in
# train (another task) and a third in val must all come back, each with its own box
TASKS = [
    ("train", [("a.png", 64, 48, (1, 2, 3), "car", 3.0),
               ("b.png", 64, 48, (4, 5, 6), "person", 5.0)]),
    ("train", [("a.png", 50, 40, (7, 8, 9), "car", 7.0)]),
    ("val", [("a.png", 80, 60, (10, 11, 12), "person", 11.0)]),
]  # fmt: skip
# where each image is expected after the round trip (names unique over the export)
EXPECTED = {
    "train": [("a.png", "car", 3.0, 64), ("a_1.png", "car", 7.0, 50), ("b.png", "person", 5.0, 64)],
    "val": [("a_2.png", "person", 11.0, 80)],
}  # fmt: skip


@pytest.fixture(scope="module")
def source_project(server: Any) -> tuple[int, dict[str, bytes]]:
    """The project to export, and each image's bytes by its expected name."""
    http = httpx.Client(base_url=server.url, auth=server.admin, timeout=30)
    project = _project(http, "round trip source")
    images: dict[str, bytes] = {}
    renamed = iter(["a.png", "b.png", "a_1.png", "a_2.png"])
    for subset, frames in TASKS:
        api = Api(server, project_id=project, subset=subset, labels=[])
        files = [(name, image_bytes(w, h, colour)) for name, w, h, colour, _, _ in frames]
        assert api.create(files)["status"] == "finished"
        for _, data in files:
            images[next(renamed)] = data
        ids = labels(api)
        shapes = [
            {"type": "rectangle", "frame": i, "label_id": ids[label],
             "points": [x, 4.0, x + 10.0, 12.0]}
            for i, (_, _, _, _, label, x) in enumerate(frames)
        ]  # fmt: skip
        body = {"shapes": shapes, "tags": [], "tracks": []}
        assert http.put(f"/api/tasks/{api.task_id}/annotations", json=body).status_code == 200
    return project, images


def _rounded(found: list[tuple[str, str, float, int]]) -> list[tuple[str, str, float, int]]:
    return [(name, label, round(x, 2), width) for name, label, x, width in found]


@pytest.mark.parametrize("fmt", ["COCO 1.0", "PASCAL VOC 1.1", "YOLO 1.1", "Datumaro 1.0"])
def test_a_project_export_imports_back_as_its_subsets(
    server: Any, source_project: tuple[int, dict[str, bytes]], fmt: str
) -> None:
    project, images = source_project
    http = httpx.Client(base_url=server.url, auth=server.admin, timeout=30)
    r = http.post(f"/api/projects/{project}/dataset/export",
                  params={"format": fmt, "save_images": "true"})  # fmt: skip
    assert r.status_code == 202, r.text
    done = wait(http, r.json()["rq_id"])
    assert done["status"] == "finished", done
    archive = http.get(done["result_url"]).content

    target = _project(http, f"round trip {fmt}")
    done = _import_dataset(http, target, fmt, "project.zip", archive)
    assert done["status"] == "finished", done
    tasks = _tasks(http, target)
    assert sorted(tasks) == ["train", "val"]
    for subset, expected in EXPECTED.items():
        task = tasks[subset]
        assert task["subset"] == subset
        assert _rounded(_by_frame_name(http, task["id"])) == expected, (fmt, subset)
        meta = http.get(f"/api/tasks/{task['id']}/data/meta").json()
        for number, frame in enumerate(meta["frames"]):
            query = {"type": "frame", "number": number, "quality": "original"}
            served = http.get(f"/api/tasks/{task['id']}/data/", params=query)
            assert served.content == images[frame["name"]], (fmt, frame["name"])


def _tracks(http: httpx.Client, task_id: int) -> list[tuple[str, list[tuple[int, bool, float]]]]:
    names = {lab["id"]: lab["name"] for lab in http.get(
        "/api/labels", params={"task_id": task_id}).json()["results"]}  # fmt: skip
    tracks = http.get(f"/api/tasks/{task_id}/annotations").json()["tracks"]
    return sorted(
        (names[t["label_id"]], [(k["frame"], k["outside"], k["points"][0]) for k in t["shapes"]])
        for t in tracks
    )


def test_a_multi_subset_project_in_the_video_layout_imports_back_as_its_subsets(
    server: Any,
) -> None:
    """CVAT for video numbers a project's frames per subset (<track subset=...>): each
    subset's tracks must land on that subset's task, on the same frames."""
    http = httpx.Client(base_url=server.url, auth=server.admin, timeout=30)
    source = _project(http, "video layout source")
    made = {}
    for subset, names, label, x in (("train", "ab", "car", 1.0), ("val", "cde", "person", 9.0)):
        api = Api(server, project_id=source, subset=subset, labels=[])
        files = [(f"{n}.png", image_bytes(40, 30, (i, i, i))) for i, n in enumerate(names)]
        assert api.create(files)["status"] == "finished"
        keys = [
            {"type": "rectangle", "frame": f, "points": [x + f, 2.0, x + f + 5, 9.0],
             "outside": f == 2}
            for f in range(min(len(names), 3))
        ]  # fmt: skip
        track = {"frame": 0, "label_id": labels(api)[label], "shapes": keys}
        body = {"shapes": [], "tags": [], "tracks": [track]}
        assert http.put(f"/api/tasks/{api.task_id}/annotations", json=body).status_code == 200
        made[subset] = api.task_id
    r = http.post(f"/api/projects/{source}/dataset/export",
                  params={"format": "CVAT for video 1.1", "save_images": "true"})  # fmt: skip
    done = wait(http, r.json()["rq_id"])
    assert done["status"] == "finished", done
    archive = http.get(done["result_url"]).content

    target = _project(http, "video layout target")
    done = _import_dataset(http, target, "CVAT 1.1", "video.zip", archive)
    assert done["status"] == "finished", done
    tasks = _tasks(http, target)
    assert sorted(tasks) == ["train", "val"]
    for subset, task_id in made.items():
        assert tasks[subset]["size"] == (2 if subset == "train" else 3)
        assert _tracks(http, tasks[subset]["id"]) == _tracks(http, task_id), subset
