"""What a dataset import into a project does as CVAT does, and where our label_map stops
(#7): the new tasks belong to the project's owner (CVAT's load_dataset_data), not to the
one who imports; import_mode is a task's or job's parameter, refused on a project; the
messages of a project import name the project; a label map maps whole labels, and a
skeleton point named in it is a 400 saying so."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.api.iam_helpers import register
from tests.api.test_dataset_import_report import _coco, _import_dataset, _tasks
from tests.api.test_dataset_io import COCO, LABELS, new_task
from tests.api.test_task_data import image_bytes, zip_bytes

SKELETON = {
    "name": "pose", "type": "skeleton",
    "sublabels": [{"name": "head", "type": "points"}, {"name": "foot", "type": "points"}],
    "svg": '<circle r="1.5" cx="10" cy="10" data-type="element node" data-node-id="1" '
           'data-label-name="head"></circle><circle r="1.5" cx="30" cy="30" '
           'data-type="element node" data-node-id="2" data-label-name="foot"></circle>',
}  # fmt: skip

ARCHIVE = zip_bytes({
    "images/train/a.png": image_bytes(64, 48, (1, 2, 3)),
    "annotations/instances_train.json": _coco([("a.png", 64, 48)], [(0, "car", 3.0)]),
})  # fmt: skip


def test_tasks_made_by_a_project_import_belong_to_the_projects_owner(server: Any) -> None:
    owner = register(server.url)
    http = httpx.Client(base_url=server.url, auth=server.admin, timeout=30)
    r = http.post(
        "/api/projects", json={"name": "owned", "labels": LABELS, "owner_id": owner["id"]}
    )
    assert r.status_code == 201, r.text
    project = r.json()
    assert project["owner"]["id"] == owner["id"]
    done = _import_dataset(http, project["id"], COCO, "owned.zip", ARCHIVE)  # by the admin
    assert done["status"] == "finished", done
    (task,) = _tasks(http, project["id"]).values()
    assert task["owner"]["id"] == owner["id"]
    # the owner sees and works on it as their own
    mine = httpx.get(f"{server.url}/api/tasks/{task['id']}",
                     auth=(owner["username"], owner["password"]))  # fmt: skip
    assert mine.status_code == 200 and mine.json()["owner"]["username"] == owner["username"]


def test_import_mode_is_refused_on_a_project_import(server: Any) -> None:
    http = httpx.Client(base_url=server.url, auth=server.admin, timeout=30)
    project = http.post("/api/projects", json={"name": "modes", "labels": LABELS}).json()
    url = f"/api/projects/{project['id']}/dataset/"
    r = http.post(url, params={"format": COCO, "import_mode": "append"},
                  files={"dataset_file": ("d.zip", ARCHIVE)})  # fmt: skip
    assert r.status_code == 400, r.text
    assert "always creates new tasks" in r.json()["import_mode"][0], r.text
    assert _tasks(http, project["id"]) == {}
    # the default (what cvat-sdk sends: nothing, or replace) imports
    done = _import_dataset(http, project["id"], COCO, "d.zip", ARCHIVE, import_mode="replace")
    assert done["status"] == "finished", done
    assert sorted(_tasks(http, project["id"])) == ["train"]


def test_a_project_imports_messages_name_the_project(server: Any) -> None:
    http = httpx.Client(base_url=server.url, auth=server.admin, timeout=30)
    project = http.post("/api/projects", json={"name": "words", "labels": LABELS}).json()
    archive = zip_bytes({
        "images/train/a.png": image_bytes(64, 48, (1, 2, 3)),
        "annotations/instances_train.json": _coco(
            [("a.png", 64, 48), ("missing.png", 64, 48)],
            [(0, "truck", 3.0), (1, "car", 4.0)]),
    })  # fmt: skip
    done = _import_dataset(http, project["id"], COCO, "words.zip", archive)
    assert done["status"] == "failed", done
    message = done["message"]
    assert "label 'truck' is not a label of the project" in message, message
    assert "item 'missing' does not match any frame of the project" in message, message
    assert "the task" not in message, message


def test_a_label_map_naming_a_skeleton_point_is_refused(server: Any) -> None:
    api = new_task(server, labels=[*LABELS, SKELETON])
    url = f"/api/tasks/{api.task_id}/annotations/"
    for target in ("head", "pose.head"):
        r = api.http.post(url, params={"format": COCO, "label_map": json.dumps({"nose": target})},
                          headers={"Upload-Start": ""})  # fmt: skip
        assert r.status_code == 400, r.text
        assert f"{target!r} is a point of skeleton 'pose'" in r.json()["label_map"][0], r.text
    # the skeleton itself may be mapped (its points are then matched by name under it)
    r = api.http.post(url, params={"format": COCO, "label_map": json.dumps({"body": "pose"})},
                      headers={"Upload-Start": ""})  # fmt: skip
    assert r.status_code == 202, r.text
