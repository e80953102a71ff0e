"""Annotations through the real server: GET/PUT/PATCH/DELETE at job and task level over
HTTP, and the same flows through the unmodified cvat-sdk."""

from __future__ import annotations

import io
import itertools
import time
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.api.iam_helpers import register

_names = itertools.count(int(time.time()) % 100_000 * 10)

LABELS = [
    {
        "name": "car",
        "attributes": [
            {"name": "color", "input_type": "select", "mutable": False,
             "values": ["red", "blue"]},
            {"name": "speed", "input_type": "number", "mutable": True, "values": ["0", "100", "1"]},
            {"name": "parked", "input_type": "checkbox", "mutable": True, "values": ["false"]},
        ],
    },
    {"name": "person"},
    {
        "name": "body", "type": "skeleton",
        "sublabels": [{"name": "head", "type": "points"}, {"name": "tail", "type": "points"}],
        "svg": '<circle r="1" cx="1" cy="1" data-label-name="head" data-node-id="1"></circle>'
               '<circle r="1" cx="5" cy="5" data-label-name="tail" data-node-id="2"></circle>',
    },
]  # fmt: skip


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 20, 30)).save(out, format="PNG")
    return out.getvalue()


class Task:
    """A task with `frames` images, cut into jobs of `segment_size` frames."""

    def __init__(self, http: httpx.Client, frames: int, segment_size: int, overlap: int = 0):
        self.http = http
        body = {"name": f"ann {next(_names)}", "labels": LABELS, "segment_size": segment_size,
                "overlap": overlap}  # fmt: skip
        r = http.post("/api/tasks", json=body)
        assert r.status_code == 201, r.text
        self.id = int(r.json()["id"])
        url = f"/api/tasks/{self.id}/data/"
        assert http.post(url, headers={"Upload-Start": ""}).status_code == 202
        image = png()
        files = [(f"client_files[{i}]", (f"{i:03}.png", image)) for i in range(frames)]
        r = http.post(url, headers={"Upload-Multiple": ""}, data={"image_quality": "70"},
                      files=files)  # fmt: skip
        assert r.status_code == 200, r.text
        r = http.post(url, headers={"Upload-Finish": ""}, json={"image_quality": 70})
        assert r.status_code == 202, r.text
        self._wait(r.json()["rq_id"])
        jobs = http.get("/api/jobs", params={"task_id": self.id, "page_size": 100}).json()
        self.jobs = sorted(jobs["results"], key=lambda j: j["start_frame"])
        labels = http.get("/api/labels", params={"task_id": self.id, "page_size": 100}).json()
        self.labels = {label["name"]: label for label in labels["results"]}
        for label in list(self.labels.values()):
            for sub in label.get("sublabels") or []:
                self.labels.setdefault(sub["name"], sub)
        if "head" not in self.labels:
            everything = http.get(
                "/api/labels",
                params={
                    "task_id": self.id,
                    "page_size": 100,
                    "parent_id": self.labels["body"]["id"],
                },
            )
            for sub in everything.json()["results"]:
                self.labels[sub["name"]] = sub

    def _wait(self, rq_id: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = self.http.get(f"/api/requests/{rq_id}").json()
            if status["status"] == "finished":
                return
            assert status["status"] != "failed", status
            time.sleep(0.1)
        raise AssertionError("task data was not ready in time")

    def label(self, name: str) -> int:
        return int(self.labels[name]["id"])

    def attr(self, label: str, name: str) -> int:
        return next(a["id"] for a in self.labels[label]["attributes"] if a["name"] == name)

    def job(self, index: int) -> int:
        return int(self.jobs[index]["id"])


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, auth=server.admin, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def task(http) -> Task:
    return Task(http, frames=30, segment_size=10)


@pytest.fixture(scope="module")
def overlap_task(http) -> Task:
    return Task(http, frames=20, segment_size=10, overlap=3)


def ann(http: httpx.Client, path: str) -> dict[str, Any]:
    r = http.get(path)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"version", "tags", "shapes", "tracks"}
    return body


def every_shape(t: Task, frame: int) -> list[dict[str, Any]]:
    car, person, body = t.label("car"), t.label("person"), t.label("body")
    return [
        {"type": "rectangle", "label_id": car, "frame": frame, "points": [1, 2, 30.5, 40],
         "rotation": 45.0, "attributes": [{"spec_id": t.attr("car", "color"), "value": "blue"}]},
        {"type": "polygon", "label_id": person, "frame": frame, "points": [0, 0, 10, 0, 5, 8]},
        {"type": "polyline", "label_id": person, "frame": frame, "points": [0, 0, 10, 10]},
        {"type": "points", "label_id": person, "frame": frame, "points": [3, 4]},
        {"type": "ellipse", "label_id": person, "frame": frame, "points": [10, 10, 15, 12]},
        {"type": "cuboid", "label_id": person, "frame": frame, "points": list(range(16))},
        {"type": "mask", "label_id": person, "frame": frame, "points": [2, 3, 1, 0, 0, 1, 2]},
        {"type": "skeleton", "label_id": body, "frame": frame, "elements": [
            {"type": "points", "label_id": t.label("head"), "frame": frame, "points": [1, 1]},
            {"type": "points", "label_id": t.label("tail"), "frame": frame, "points": [5, 5],
             "outside": True},
        ]},
    ]  # fmt: skip


def track(t: Task, frames: tuple[int, ...], x0: float = 0.0) -> dict[str, Any]:
    keys = [{"type": "rectangle", "frame": f, "points": [x0 + f, 0, x0 + f + 10, 10]}
            for f in frames]  # fmt: skip
    keys[-1]["outside"] = True
    return {"label_id": t.label("car"), "frame": frames[0], "shapes": keys,
            "attributes": [{"spec_id": t.attr("car", "color"), "value": "red"}]}  # fmt: skip


def history_head(http: httpx.Client, job_id: int) -> int:
    return int(ann(http, f"/api/jobs/{job_id}/annotations")["version"])


# --- job level ----------------------------------------------------------------------------


def test_job_put_fills_defaults_assigns_ids_and_get_returns_them(http, task) -> None:
    job = task.job(0)
    tag = {"label_id": task.label("person"), "frame": 2}
    body = {"shapes": every_shape(task, 1), "tags": [tag], "tracks": [track(task, (0, 4, 8))]}
    r = http.put(f"/api/jobs/{job}/annotations/", json=body)
    assert r.status_code == 200, r.text
    got = ann(http, f"/api/jobs/{job}/annotations/")
    assert got == ann(http, f"/api/jobs/{job}/annotations")  # both slash variants
    assert [s["type"] for s in got["shapes"]] == [s["type"] for s in body["shapes"]]
    for shape in got["shapes"]:
        assert isinstance(shape["id"], int)
        assert shape["source"] == "manual" and shape["z_order"] == 0 and shape["group"] == 0
        assert shape["occluded"] is False and shape["outside"] is False
        assert isinstance(shape["attributes"], list) and isinstance(shape["elements"], list)
    rect = got["shapes"][0]
    assert rect["rotation"] == 45.0 and rect["points"] == [1, 2, 30.5, 40]
    assert rect["attributes"] == [{"spec_id": task.attr("car", "color"), "value": "blue"}]
    skeleton = got["shapes"][-1]
    assert [e["outside"] for e in skeleton["elements"]] == [False, True]
    assert all(isinstance(e["id"], int) for e in skeleton["elements"])
    (tag_out,) = got["tags"]
    assert tag_out["frame"] == 2 and tag_out["source"] == "manual" and tag_out["attributes"] == []
    assert tag_out["group"] == 0
    (track_out,) = got["tracks"]
    assert [(k["frame"], k["outside"]) for k in track_out["shapes"]] == [
        (0, False), (4, False), (8, True),
    ]  # fmt: skip
    assert all(isinstance(k["id"], int) for k in track_out["shapes"])
    # Ids are stable across reads.
    assert ann(http, f"/api/jobs/{job}/annotations")["shapes"] == got["shapes"]


def test_job_patch_create_update_delete_and_clear(http, task) -> None:
    job = task.job(1)
    path = f"/api/jobs/{job}/annotations"
    assert http.delete(path).status_code == 204
    created = http.patch(path, params={"action": "create"},
                         json={"shapes": every_shape(task, 12)[:3]})  # fmt: skip
    assert created.status_code == 200, created.text
    ids = [s["id"] for s in created.json()["shapes"]]
    assert len(ids) == 3 and all(isinstance(i, int) for i in ids)

    current = ann(http, path)
    rect = next(s for s in current["shapes"] if s["type"] == "rectangle")
    rect = {**rect, "points": [5, 5, 50, 50], "occluded": True, "score": 1.0, "extra": "kept?"}
    r = http.patch(path, params={"action": "update"}, json={"shapes": [rect]})
    assert r.status_code == 200, r.text
    after = ann(http, path)
    updated = next(s for s in after["shapes"] if s["id"] == rect["id"])
    assert updated["points"] == [5, 5, 50, 50] and updated["occluded"] is True
    assert updated["rotation"] == 45.0  # untouched properties kept
    assert after["version"] > current["version"]

    # Delete with complete objects as remove_annotations sends them (unknown keys and all).
    doomed = [{**s, "unknown": [1, 2]} for s in after["shapes"] if s["id"] != rect["id"]]
    r = http.patch(path, params={"action": "delete"}, json={"shapes": doomed})
    assert r.status_code == 200, r.text
    assert [s["id"] for s in ann(http, path)["shapes"]] == [rect["id"]]

    assert http.delete(path + "/").status_code == 204
    assert ann(http, path)["shapes"] == []


def test_job_patch_update_moves_a_shape_to_another_frame(http, task) -> None:
    job = task.job(2)  # frames 20..29
    path = f"/api/jobs/{job}/annotations"
    box = {"type": "rectangle", "frame": 21, "label_id": task.label("car"),
           "points": [1, 1, 9, 9]}  # fmt: skip
    created = http.patch(path, params={"action": "create"}, json={"shapes": [box]}).json()
    moved = {**created["shapes"][0], "frame": 25}
    r = http.patch(path, params={"action": "update"}, json={"shapes": [moved]})
    assert r.status_code == 200, r.text
    assert [s["frame"] for s in ann(http, path)["shapes"] if s["id"] == moved["id"]] == [25]
    outside = http.patch(
        path, params={"action": "update"}, json={"shapes": [{**moved, "frame": 3}]}
    )
    assert outside.status_code == 400 and "shapes[0].frame" in outside.json()
    assert http.delete(path).status_code == 204


def test_track_update_with_full_keyframe_list(http, task) -> None:
    job = task.job(2)
    path = f"/api/jobs/{job}/annotations"
    r = http.put(path, json={"tracks": [track(task, (20, 24, 28))]})
    assert r.status_code == 200, r.text
    (t,) = ann(http, path)["tracks"]
    keys = t["shapes"]
    keys[1] = {**keys[1], "points": [0, 0, 1, 1]}
    new_key = {"type": "rectangle", "frame": 26, "points": [2, 2, 3, 3], "outside": False}
    t = {**t, "shapes": [keys[0], keys[1], new_key, keys[2]]}
    r = http.patch(path, params={"action": "update"}, json={"tracks": [t]})
    assert r.status_code == 200, r.text
    (got,) = ann(http, path)["tracks"]
    assert [(k["frame"], k["points"]) for k in got["shapes"]] == [
        (20, [20, 0, 30, 10]), (24, [0, 0, 1, 1]), (26, [2, 2, 3, 3]), (28, [28, 0, 38, 10]),
    ]  # fmt: skip
    # Dropping a keyframe from the list removes it.
    got["shapes"] = [k for k in got["shapes"] if k["frame"] != 26]
    assert http.patch(path, params={"action": "update"}, json={"tracks": [got]}).status_code == 200
    (final,) = ann(http, path)["tracks"]
    assert [k["frame"] for k in final["shapes"]] == [20, 24, 28]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s, t: s.update(label_id=999_999), "shapes[0].label_id"),
        (lambda s, t: s.update(attributes=[{"spec_id": 999_999, "value": "x"}]),
         "shapes[0].attributes[0].spec_id"),
        (lambda s, t: s.update(attributes=[{"spec_id": t.attr("car", "color"), "value": "green"}]),
         "shapes[0].attributes[0].value"),
        (lambda s, t: s.update(frame=99), "shapes[0].frame"),
        (lambda s, t: s.update(points=[1, 2, 3]), "shapes[0].points"),
        (lambda s, t: s.update(type="hexagon"), "shapes[0].type"),
    ],
    ids=["unknown-label", "unknown-attribute", "value-outside-spec", "frame-outside-job",
         "malformed-points", "unknown-type"],
)  # fmt: skip
def test_bad_input_is_400_naming_the_field_and_appends_nothing(http, task, mutate, field) -> None:
    job = task.job(0)
    before = history_head(http, job)
    shape = every_shape(task, 3)[0]
    mutate(shape, task)
    for method, params in (("put", {}), ("patch", {"action": "create"})):
        r = http.request(method, f"/api/jobs/{job}/annotations", params=params,
                         json={"shapes": [every_shape(task, 3)[1], shape][::-1]})  # fmt: skip
        assert r.status_code == 400, r.text
        assert field in r.json(), r.json()
    # A task-level request names the object as the caller sent it, and touches no job.
    r = http.patch(f"/api/tasks/{task.id}/annotations", params={"action": "create"},
                   json={"shapes": [every_shape(task, 15)[1], shape]})  # fmt: skip
    assert r.status_code == 400 and field.replace("[0]", "[1]", 1) in r.json(), r.text
    assert history_head(http, job) == before


def test_missing_or_unknown_action_is_400(http, task) -> None:
    for path in (f"/api/jobs/{task.job(0)}/annotations", f"/api/tasks/{task.id}/annotations"):
        assert http.patch(path, json={}).status_code == 400
        r = http.patch(path, params={"action": "upsert"}, json={})
        assert r.status_code == 400 and "action" in r.json()


def test_unknown_job_is_404_and_strangers_see_nothing(http, server, task) -> None:
    assert http.get("/api/jobs/987654321/annotations").status_code == 404
    stranger = register(server.url)
    auth = (stranger["username"], stranger["password"])
    r = httpx.get(f"{server.url}/api/jobs/{task.job(0)}/annotations", auth=auth)
    assert r.status_code in (403, 404)
    r = httpx.put(f"{server.url}/api/tasks/{task.id}/annotations", auth=auth, json={})
    assert r.status_code in (403, 404)


def test_time_travel_returns_an_earlier_revision(http, task) -> None:
    job = task.job(1)
    path = f"/api/jobs/{job}/annotations"
    http.put(path, json={"shapes": every_shape(task, 11)[:1]})
    then = ann(http, path)
    http.put(path, json={"shapes": every_shape(task, 11)[:2]})
    past = ann(http, f"{path}?revision={then['version']}")
    assert [s["id"] for s in past["shapes"]] == [s["id"] for s in then["shapes"]]


# --- task level ---------------------------------------------------------------------------


def test_task_put_splits_by_frame_and_get_merges(http, task) -> None:
    car = task.label("car")
    shapes = [every_shape(task, f)[0] for f in (3, 13, 23)]
    body = {"shapes": shapes, "tags": [{"label_id": car, "frame": 19}],
            "tracks": [track(task, (5, 15, 25))]}  # fmt: skip
    r = http.put(f"/api/tasks/{task.id}/annotations/", json=body)
    assert r.status_code == 200, r.text
    per_job = [ann(http, f"/api/jobs/{task.job(i)}/annotations") for i in range(3)]
    assert [[s["frame"] for s in j["shapes"]] for j in per_job] == [[3], [13], [23]]
    assert [[t["frame"] for t in j["tags"]] for j in per_job] == [[], [19], []]
    assert [len(j["tracks"]) for j in per_job] == [1, 1, 1]
    # The first job's part ends with an outside keyframe where the track leaves it.
    assert [(k["frame"], k["outside"]) for k in per_job[0]["tracks"][0]["shapes"]] == [
        (5, False), (10, True),
    ]  # fmt: skip
    merged = ann(http, f"/api/tasks/{task.id}/annotations")
    assert [s["frame"] for s in merged["shapes"]] == [3, 13, 23]
    assert len(merged["tracks"]) == 1
    keys = {k["frame"]: k for k in merged["tracks"][0]["shapes"]}
    assert {5, 15, 25} <= set(keys) and keys[25]["outside"] and not keys[15]["outside"]


def test_task_patch_create_update_delete(http, task) -> None:
    path = f"/api/tasks/{task.id}/annotations"
    assert http.delete(path).status_code == 204
    r = http.patch(
        path,
        params={"action": "create"},
        json={"shapes": [every_shape(task, 8)[0], every_shape(task, 18)[0]]},
    )
    assert r.status_code == 200, r.text
    created = r.json()  # the task answer is LabeledData
    assert set(created) >= {"version", "tags", "shapes", "tracks"}
    assert len(created["shapes"]) == 2
    current = ann(http, path)["shapes"]
    moved = {**current[1], "points": [7, 7, 9, 9]}
    r = http.patch(path, params={"action": "update"}, json={"shapes": [moved]})
    assert r.status_code == 200, r.text
    assert r.json()["shapes"][0]["points"] == [7, 7, 9, 9]
    job_view = ann(http, f"/api/jobs/{task.job(1)}/annotations")["shapes"]
    assert job_view[0]["points"] == [7, 7, 9, 9]
    r = http.patch(path, params={"action": "delete"}, json={"shapes": [current[0]]})
    assert r.status_code == 200, r.text
    assert [s["frame"] for s in ann(http, path)["shapes"]] == [18]


def test_overlapped_frames_reach_both_jobs_and_show_once(http, overlap_task) -> None:
    t = overlap_task
    assert [(j["start_frame"], j["stop_frame"]) for j in t.jobs][:2] == [(0, 9), (7, 16)]
    path = f"/api/tasks/{t.id}/annotations"
    shapes = [every_shape(t, 8)[0], every_shape(t, 2)[1]]
    r = http.put(path, json={"shapes": shapes, "tracks": [track(t, (1, 12, 18))]})
    assert r.status_code == 200, r.text
    first, second = (ann(http, f"/api/jobs/{t.job(i)}/annotations") for i in (0, 1))
    assert 8 in [s["frame"] for s in first["shapes"]]
    assert 8 in [s["frame"] for s in second["shapes"]]
    merged = ann(http, path)
    assert sorted(s["frame"] for s in merged["shapes"]) == [2, 8]
    assert len(merged["tracks"]) == 1
    # Update and delete through the task reach the twin in the other job too.
    shown = next(s for s in merged["shapes"] if s["frame"] == 8)
    r = http.patch(path, params={"action": "update"},
                   json={"shapes": [{**shown, "occluded": True}]})  # fmt: skip
    assert r.status_code == 200, r.text
    for job in (t.job(0), t.job(1)):
        on8 = [s for s in ann(http, f"/api/jobs/{job}/annotations")["shapes"] if s["frame"] == 8]
        assert [s["occluded"] for s in on8] == [True]
    r = http.patch(path, params={"action": "delete"},
                   json={"shapes": [shown], "tracks": merged["tracks"]})  # fmt: skip
    assert r.status_code == 200, r.text
    assert ann(http, path)["tracks"] == []
    assert [s["frame"] for s in ann(http, path)["shapes"]] == [2]
    assert all(s["frame"] != 8 for s in ann(http, f"/api/jobs/{t.job(1)}/annotations")["shapes"])


# --- cvat-sdk -----------------------------------------------------------------------------


def test_cvat_sdk_annotation_flows(server, task) -> None:
    from cvat_sdk import make_client
    from cvat_sdk.api_client import models
    from cvat_sdk.core.proxies.annotations import AnnotationUpdateAction

    with make_client(server.url, credentials=server.admin) as client:
        job = client.jobs.retrieve(task.job(2))
        job.remove_annotations()
        car = task.label("car")
        job.set_annotations(models.LabeledDataRequest(
            shapes=[models.LabeledShapeRequest(type="rectangle", frame=21, label_id=car,
                                               points=[1.0, 2.0, 3.0, 4.0])],
            tracks=[models.LabeledTrackRequest(frame=22, label_id=car, shapes=[
                models.TrackedShapeRequest(type="rectangle", frame=22, points=[0, 0, 5, 5]),
                models.TrackedShapeRequest(type="rectangle", frame=25, points=[5, 5, 9, 9],
                                           outside=True),
            ])],
            tags=[models.LabeledImageRequest(frame=23, label_id=car)],
        ))  # fmt: skip
        got = job.get_annotations()
        assert len(got.shapes) == len(got.tracks) == len(got.tags) == 1
        assert got.shapes[0].occluded is False and got.shapes[0].source == "manual"
        job.update_annotations(models.PatchedLabeledDataRequest(
            shapes=[models.LabeledShapeRequest(type="points", frame=24, label_id=car,
                                               points=[1.0, 1.0])],
        ), action=AnnotationUpdateAction.CREATE)  # fmt: skip
        shape = job.get_annotations().shapes[0]
        job.update_annotations(models.PatchedLabeledDataRequest(shapes=[
            models.LabeledShapeRequest(id=shape.id, type=shape.type, frame=shape.frame,
                                       label_id=shape.label_id, points=[9.0, 9.0, 10.0, 10.0]),
        ]))  # fmt: skip
        got = job.get_annotations()
        assert next(s for s in got.shapes if s.id == shape.id).points == [9.0, 9.0, 10.0, 10.0]
        job.remove_annotations(ids=[shape.id])
        got = job.get_annotations()
        assert shape.id not in [s.id for s in got.shapes] and len(got.shapes) == 1
        job.remove_annotations()
        assert job.get_annotations().shapes == []

        sdk_task = client.tasks.retrieve(task.id)
        sdk_task.set_annotations(models.LabeledDataRequest(shapes=[
            models.LabeledShapeRequest(type="rectangle", frame=f, label_id=car,
                                       points=[1.0, 2.0, 3.0, 4.0]) for f in (1, 11, 21)
        ]))  # fmt: skip
        got = sdk_task.get_annotations()
        assert sorted(s.frame for s in got.shapes) == [1, 11, 21]
        sdk_task.update_annotations(models.PatchedLabeledDataRequest(tags=[
            models.LabeledImageRequest(frame=5, label_id=car)
        ]), action=AnnotationUpdateAction.CREATE)  # fmt: skip
        assert len(sdk_task.get_annotations().tags) == 1
        sdk_task.remove_annotations(ids=[got.shapes[0].id])
        assert sorted(s.frame for s in sdk_task.get_annotations().shapes) == [11, 21]
        sdk_task.remove_annotations()
        got = sdk_task.get_annotations()
        assert got.shapes == [] and got.tags == [] and got.tracks == []
