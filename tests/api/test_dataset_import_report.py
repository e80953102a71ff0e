"""Imports through the real server (#7): a project dataset becomes one task per subset (as
CVAT does), annotations or items an import cannot place are all reported (the import
fails listing them, or with on_error=skip imports the rest and reports them in the
request's message and the events' import_report), label_map renames or drops the file's
labels, import_mode=append adds to what a task has, and every import parameter cvat-sdk
sends is honoured or refused with a 400 naming it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.api.test_dataset_io import (
    COCO,
    LABELS,
    coco_box,
    coco_file,
    jobs,
    labels,
    new_task,
    task_shapes,
    upload_annotations,
    wait,
)
from tests.api.test_task_data import Api, image_bytes, zip_bytes


def _coco(images: list[tuple[str, int, int]], boxes: list[tuple[int, str, float]]) -> bytes:
    """A COCO instances file: images (file name, width, height) and boxes (image index,
    category name, x)."""
    names = sorted({name for _, name, _ in boxes} | {"car", "person"})
    return json.dumps({
        "licenses": [], "info": {},
        "categories": [{"id": i + 1, "name": n, "supercategory": ""} for i, n in enumerate(names)],
        "images": [{"id": i + 1, "file_name": f, "width": w, "height": h}
                   for i, (f, w, h) in enumerate(images)],
        "annotations": [
            {"id": k + 1, "image_id": image + 1, "category_id": names.index(name) + 1,
             "bbox": [x, 4.0, 10.0, 8.0], "area": 80.0, "iscrowd": 0, "segmentation": [],
             "attributes": {}}
            for k, (image, name, x) in enumerate(boxes)
        ],
    }).encode()  # fmt: skip


def _project(http: httpx.Client, name: str) -> int:
    r = http.post("/api/projects", json={"name": name, "labels": LABELS})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _import_dataset(
    http: httpx.Client, project: int, fmt: str, name: str, archive: bytes, **params: Any
) -> dict[str, Any]:
    r = http.post(
        f"/api/projects/{project}/dataset/", params={"format": fmt, **params},
        files={"dataset_file": (name, archive)},
    )  # fmt: skip
    assert r.status_code == 202, r.text
    return wait(http, r.json()["rq_id"])


def _tasks(http: httpx.Client, project: int) -> dict[str, dict[str, Any]]:
    r = http.get("/api/tasks", params={"project_id": project})
    return {t["name"]: t for t in r.json()["results"]}


def _by_frame_name(http: httpx.Client, task_id: int) -> list[tuple[str, str, float, int]]:
    """(frame name, label, x, frame width) of every shape: where each box landed."""
    meta = http.get(f"/api/tasks/{task_id}/data/meta").json()
    names = {lab["id"]: lab["name"] for lab in http.get(
        "/api/labels", params={"task_id": task_id}).json()["results"]}  # fmt: skip
    shapes = http.get(f"/api/tasks/{task_id}/annotations").json()["shapes"]
    return sorted(
        (meta["frames"][s["frame"]]["name"], names[s["label_id"]], s["points"][0],
         meta["frames"][s["frame"]]["width"])
        for s in shapes
    )  # fmt: skip


def _import_events(http: httpx.Client, task_id: int) -> list[dict[str, Any]]:
    history = http.get(f"/api/tasks/{task_id}/history").json()["results"]
    return [e for e in history if e["source"] == "import"]


# --- a project dataset: a task per subset -------------------------------------------------


def test_a_coco_dataset_with_two_subsets_becomes_two_tasks(server: Any, tmp_path: Path) -> None:
    from cvat_sdk import make_client

    # the same file name in both subsets, with different sizes: each must reach its own task
    files = {
        "images/train/a.png": image_bytes(64, 48, (1, 2, 3)),
        "images/train/b.png": image_bytes(64, 48, (4, 5, 6)),
        "images/val/a.png": image_bytes(80, 60, (7, 8, 9)),
    }
    archive = zip_bytes({
        **files,
        "annotations/instances_train.json": _coco(
            [("a.png", 64, 48), ("b.png", 64, 48)], [(0, "car", 3.0), (1, "person", 5.0)]),
        "annotations/instances_val.json": _coco([("a.png", 80, 60)], [(0, "car", 60.0)]),
    })  # fmt: skip
    upload = tmp_path / "two_subsets.zip"
    upload.write_bytes(archive)
    http = httpx.Client(base_url=server.url, auth=server.admin, timeout=30)
    with make_client(server.url, credentials=server.admin) as client:
        client.config.status_check_period = 0.1
        project = client.projects.create({"name": "subsets", "labels": LABELS})
        project.import_dataset(COCO, upload)
    tasks = _tasks(http, project.id)
    assert sorted(tasks) == ["train", "val"]
    assert [(tasks[n]["subset"], tasks[n]["size"]) for n in ("train", "val")] == [
        ("train", 2), ("val", 1)
    ]  # fmt: skip
    assert _by_frame_name(http, tasks["train"]["id"]) == [
        ("a.png", "car", 3.0, 64), ("b.png", "person", 5.0, 64)
    ]  # fmt: skip
    assert _by_frame_name(http, tasks["val"]["id"]) == [("a.png", "car", 60.0, 80)]
    served = http.get(f"/api/tasks/{tasks['val']['id']}/data/",
                      params={"type": "frame", "number": 0, "quality": "original"})  # fmt: skip
    assert served.content == files["images/val/a.png"]
    for name, shapes in (("train", 2), ("val", 1)):
        (event,) = _import_events(http, tasks[name]["id"])
        report = event["import_report"]
        assert (report["format"], report["file"], report["shapes"]) == (
            COCO, "two_subsets.zip", shapes
        )  # fmt: skip


def test_a_project_exported_as_cvat_xml_imports_back_as_its_subsets(server: Any) -> None:
    http = httpx.Client(base_url=server.url, auth=server.admin, timeout=30)
    source = _project(http, "xml source")
    made = {}
    for subset, colours in (("train", [(1, 1, 1), (2, 2, 2)]), ("test", [(3, 3, 3)])):
        api = Api(server, project_id=source, subset=subset, labels=[])
        files = [(f"img_{i}.png", image_bytes(50, 40, c)) for i, c in enumerate(colours)]
        assert api.create(files)["status"] == "finished"
        ids = labels(api)
        shapes = [{"type": "rectangle", "frame": i, "label_id": ids["car" if i else "person"],
                   "points": [i + 1.0, 2.0, 20.0, 30.0]} for i in range(len(colours))]  # fmt: skip
        body = {"shapes": shapes, "tags": [], "tracks": []}
        assert http.put(f"/api/tasks/{api.task_id}/annotations", json=body).status_code == 200
        made[subset] = api.task_id
    r = http.post(f"/api/projects/{source}/dataset/export",
                  params={"format": "CVAT for images 1.1", "save_images": "true"})  # fmt: skip
    assert r.status_code == 202, r.text
    done = wait(http, r.json()["rq_id"])
    assert done["status"] == "finished", done
    archive = http.get(done["result_url"]).content

    target = _project(http, "xml target")
    done = _import_dataset(http, target, "CVAT 1.1", "project.zip", archive)
    assert done["status"] == "finished", done
    assert "Created 2 tasks" in done["message"], done["message"]
    tasks = _tasks(http, target)
    assert sorted(tasks) == ["test", "train"]
    for subset, task_id in made.items():
        assert _by_frame_name(http, tasks[subset]["id"]) == _by_frame_name(http, task_id)


def test_a_failed_dataset_import_leaves_no_task_behind(server: Any) -> None:
    http = httpx.Client(base_url=server.url, auth=server.admin, timeout=30)
    project = _project(http, "strict")
    archive = zip_bytes({
        "images/train/a.png": image_bytes(64, 48, (1, 2, 3)),
        "images/val/b.png": image_bytes(64, 48, (1, 2, 3)),
        "annotations/instances_train.json": _coco([("a.png", 64, 48)], [(0, "car", 3.0)]),
        # the second subset's box is far outside its image
        "annotations/instances_val.json": _coco([("b.png", 64, 48)], [(0, "car", 900.0)]),
    })  # fmt: skip
    failed = _import_dataset(http, project, COCO, "bad.zip", archive)
    assert failed["status"] == "failed" and "x=900 is outside" in failed["message"], failed
    assert _tasks(http, project) == {}
    done = _import_dataset(http, project, COCO, "bad.zip", archive, on_error="skip")
    assert done["status"] == "finished", done
    assert "Skipped 1" in done["message"] and "x=900" in done["message"], done["message"]
    tasks = _tasks(http, project)
    assert sorted(tasks) == ["train", "val"]
    assert _by_frame_name(http, tasks["val"]["id"]) == []


# --- the report -------------------------------------------------------------------------


def _bad_coco() -> bytes:
    """Frames 0-3 of new_task; 'truck' twice (no such label), an image the task does not
    have, a box far outside its frame, and two good boxes."""
    images = [(f"img_{i}.png", 64, 48) for i in range(4)] + [("img_9.png", 64, 48)]
    boxes = [(0, "car", 1.0), (1, "truck", 2.0), (2, "truck", 3.0), (3, "car", 700.0),
             (4, "car", 4.0), (3, "person", 5.0)]  # fmt: skip
    return _coco(images, boxes)


def test_a_file_with_problems_fails_listing_every_one(server: Any) -> None:
    api = new_task(server)
    before = task_shapes(api)
    done = upload_annotations(api, COCO, "bad.json", _bad_coco())
    assert done["status"] == "failed", done
    message = done["message"]
    assert message.startswith("bad.json: 4 annotations or items could not be imported"), message
    assert "label 'truck' is not a label of the task" in message and "1 more like it" in message
    assert "img_9" in message and "x=700 is outside the 64x48 frame" in message
    assert task_shapes(api) == before
    assert _import_events(api.http, api.task_id) == []


def test_on_error_skip_imports_the_rest_and_reports_what_it_left_out(server: Any) -> None:
    api = new_task(server)
    done = upload_annotations_with(api, "bad.json", _bad_coco(), on_error="skip")
    assert done["status"] == "finished", done
    assert [(f, p[0]) for f, p in task_shapes(api)] == [(0, 1.0), (3, 5.0)]
    message = done["message"]
    assert message.startswith("Imported 2 shapes, 0 tracks and 0 tags from bad.json."), message
    assert "Skipped 4 that could not be imported" in message and "img_9" in message
    events = _import_events(api.http, api.task_id)
    assert len(events) == len(jobs(api)) == 2
    reports = sorted((e["import_report"]["shapes"], e["import_report"]["skipped"]) for e in events)
    assert reports == [(1, 4), (1, 4)]  # each job's own shapes, the whole import's skips


def upload_annotations_with(api: Api, name: str, payload: bytes, **params: Any) -> dict[str, Any]:
    r = api.http.post(
        f"/api/tasks/{api.task_id}/annotations/", params={"format": COCO, **params},
        files={"annotation_file": (name, payload)},
    )  # fmt: skip
    assert r.status_code == 202, r.text
    return wait(api.http, r.json()["rq_id"])


def test_label_map_renames_or_drops_the_files_labels(server: Any) -> None:
    api = new_task(server)
    payload = _coco([(f"img_{i}.png", 64, 48) for i in range(4)],
                    [(0, "truck", 1.0), (1, "auto", 2.0), (2, "car", 3.0)])  # fmt: skip
    done = upload_annotations_with(
        api, "mapped.json", payload, label_map=json.dumps({"truck": "person", "auto": None})
    )
    assert done["status"] == "finished", done
    names = {v: k for k, v in labels(api).items()}
    shapes = api.http.get(f"/api/tasks/{api.task_id}/annotations").json()["shapes"]
    assert sorted((s["frame"], names[s["label_id"]]) for s in shapes) == [
        (0, "person"), (2, "car")
    ]  # fmt: skip
    assert "1 annotations were dropped by the label map" in done["message"], done["message"]
    (event, _) = sorted(_import_events(api.http, api.task_id), key=lambda e: e["stream"])
    assert event["import_report"]["dropped"] == 1

    url = f"/api/tasks/{api.task_id}/annotations/"
    for bad, expected in (
        ('{"truck": "bus"}', "'bus': not a label here"),
        ("[1, 2]", "Expected a JSON object"),
        ('{"truck": 3}', "Expected a JSON object"),
    ):
        r = api.http.post(url, params={"format": COCO, "label_map": bad},
                          headers={"Upload-Start": ""})  # fmt: skip
        assert r.status_code == 400, r.text
        assert expected in r.json()["label_map"][0], r.text


def test_import_mode_append_adds_to_the_annotations_and_is_undone(
    server: Any, tmp_path: Path
) -> None:
    from cvat_sdk import make_client

    api = new_task(server)
    car = labels(api)["car"]
    first = {"type": "rectangle", "frame": 0, "label_id": car, "points": [1.0, 1.0, 9.0, 9.0]}
    assert (
        api.http.put(
            f"/api/tasks/{api.task_id}/annotations",
            json={"shapes": [first], "tags": [], "tracks": []},
        ).status_code
        == 200
    )
    upload = tmp_path / "more.json"
    upload.write_bytes(coco_file([coco_box(1, 1, 30.0), coco_box(2, 3, 31.0)]))
    with make_client(server.url, credentials=server.admin) as client:
        client.config.status_check_period = 0.1
        client.tasks.retrieve(api.task_id).import_annotations(COCO, upload, import_mode="append")
    assert [(f, p[0]) for f, p in task_shapes(api)] == [(0, 1.0), (0, 30.0), (2, 31.0)]
    events = _import_events(api.http, api.task_id)
    assert sorted(e["type"] for e in events) == ["ObjectsCreated", "ObjectsCreated"]
    assert {e["import_report"]["mode"] for e in events} == {"append"}
    for job in jobs(api):
        assert api.http.post(f"/api/jobs/{job['id']}/undo").status_code == 200
    assert [(f, p[0]) for f, p in task_shapes(api)] == [(0, 1.0)]


def test_import_parameters_cvat_sdk_sends_are_checked(server: Any) -> None:
    api = new_task(server)
    url = f"/api/tasks/{api.task_id}/annotations/"
    for name, value in (
        ("import_mode", "merge"),
        ("location", "ftp"),
        ("on_error", "maybe"),
        ("conv_mask_to_poly", "perhaps"),
        ("use_default_location", "2"),
    ):
        r = api.http.post(url, params={"format": COCO, name: value}, headers={"Upload-Start": ""})
        assert r.status_code == 400 and name in r.text, (name, r.text)
    # from a bucket: the storage and the key are needed
    r = api.http.post(url, params={"format": COCO, "location": "cloud_storage", "filename": "a"})
    assert r.status_code == 400 and "cloud_storage_id" in r.json(), r.text
    project = _project(api.http, "params")
    r = api.http.post(f"/api/projects/{project}/dataset/",
                      params={"format": COCO, "location": "cloud_storage",
                              "cloud_storage_id": "999999", "filename": "d.zip"})  # fmt: skip
    assert r.status_code == 400 and "cloud_storage_id" in r.json(), r.text
    # a plain POST naming no bucket is no upload either
    r = api.http.post(url, params={"format": COCO, "filename": "a.json"})
    assert r.status_code == 400 and "upload protocol" in r.text


def test_a_project_without_labels_takes_the_datasets_labels(server: Any) -> None:
    http = httpx.Client(base_url=server.url, auth=server.admin, timeout=30)
    archive = zip_bytes({
        "images/default/a.png": image_bytes(64, 48, (1, 2, 3)),
        "annotations/instances_default.json": _coco(
            [("a.png", 64, 48)], [(0, "car", 3.0), (0, "truck", 9.0)]),
    })  # fmt: skip
    r = http.post("/api/projects", json={"name": "no labels yet"})
    assert r.status_code == 201, r.text
    empty = r.json()["id"]
    done = _import_dataset(http, empty, COCO, "cars.zip", archive)
    assert done["status"] == "finished", done
    found = http.get("/api/labels", params={"project_id": empty}).json()["results"]
    assert sorted(label["name"] for label in found) == ["car", "person", "truck"]
    (task,) = _tasks(http, empty).values()
    assert [(name, label) for name, label, _, _ in _by_frame_name(http, task["id"])] == [
        ("a.png", "car"), ("a.png", "truck")
    ]  # fmt: skip

    # a failed import gives the labels it added back
    r = http.post("/api/projects", json={"name": "still no labels"})
    other = r.json()["id"]
    broken = zip_bytes({
        "images/default/a.png": image_bytes(64, 48, (1, 2, 3)),
        "annotations/instances_default.json": _coco([("a.png", 64, 48)], [(0, "car", 999.0)]),
    })  # fmt: skip
    failed = _import_dataset(http, other, COCO, "far.zip", broken)
    assert failed["status"] == "failed" and "x=999" in failed["message"], failed
    assert http.get("/api/labels", params={"project_id": other}).json()["count"] == 0
    assert _tasks(http, other) == {}
