"""The audit trail and time travel over HTTP against the real server: job and task history
(paginated, filtered), the JSON Lines export, `?revision=` / `?at=` on annotations, and
per-user undo / redo as compensating events."""

from __future__ import annotations

import datetime
import json
import time
from typing import Any

import httpx
import pytest

from tests.api.iam_helpers import register
from tests.api.test_annotations import Task, ann


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, auth=server.admin, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def task(http) -> Task:
    return Task(http, frames=20, segment_size=10)


def rect(t: Task, frame: int = 0, points: list[float] | None = None) -> dict[str, Any]:
    return {"type": "rectangle", "label_id": t.label("person"), "frame": frame,
            "points": points or [1, 2, 10, 20]}  # fmt: skip


def create(http: httpx.Client, job: int, *shapes: dict[str, Any]) -> list[dict[str, Any]]:
    r = http.patch(f"/api/jobs/{job}/annotations", params={"action": "create"},
                   json={"shapes": list(shapes)})  # fmt: skip
    assert r.status_code == 200, r.text
    return list(r.json()["shapes"])


def update(http: httpx.Client, job: int, *shapes: dict[str, Any]) -> None:
    r = http.patch(f"/api/jobs/{job}/annotations", params={"action": "update"},
                   json={"shapes": list(shapes)})  # fmt: skip
    assert r.status_code == 200, r.text


def history(http: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    r = http.get(path, params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def shapes_by_id(http: httpx.Client, job: int) -> dict[int, dict[str, Any]]:
    return {s["id"]: s for s in ann(http, f"/api/jobs/{job}/annotations")["shapes"]}


# --- history ----------------------------------------------------------------------------


def test_job_history_lists_each_event_with_actor_source_and_data(http, task):
    job = task.job(0)
    [shape] = create(http, job, rect(task))
    update(http, job, {"id": shape["id"], "points": [2, 3, 11, 21]})
    body = history(http, f"/api/jobs/{job}/history", page_size=100)
    entries = body["results"]
    assert body["count"] == len(entries) >= 3
    assert [e["revision"] for e in entries] == list(range(len(entries)))  # by revision
    assert entries[0]["type"] == "JobCreated"
    created, updated = entries[-2], entries[-1]
    assert (created["type"], updated["type"]) == ("ObjectsCreated", "ObjectsUpdated")
    assert created["actor"] == {"id": 1, "username": "admin"}
    assert created["source"] == "api"
    assert created["data"]["shapes"][0]["id"] == shape["id"]
    assert updated["data"]["shapes"] == [{"id": shape["id"], "points": [2, 3, 11, 21]}]
    assert set(updated) >= {"revision", "position", "type", "actor", "source", "op_id",
                            "recorded_at", "data"}  # fmt: skip
    assert updated["position"] > created["position"]
    datetime.datetime.fromisoformat(updated["recorded_at"])


def test_history_is_paginated_filtered_and_sorted(http, task):
    job = task.job(0)
    for i in range(3):
        create(http, job, rect(task, points=[i, i, 10 + i, 10 + i]))
    everything = history(http, f"/api/jobs/{job}/history", page_size="all")["results"]
    first = history(http, f"/api/jobs/{job}/history", page_size=2)
    assert first["count"] == len(everything) and len(first["results"]) == 2
    assert first["next"] is not None and first["previous"] is None
    second = httpx.get(first["next"], auth=http.auth).json()
    assert [e["revision"] for e in second["results"]] == [2, 3]
    created = history(http, f"/api/jobs/{job}/history", type="ObjectsCreated", page_size=100)
    assert created["count"] == sum(e["type"] == "ObjectsCreated" for e in everything)
    assert {e["type"] for e in created["results"]} == {"ObjectsCreated"}
    newest = history(http, f"/api/jobs/{job}/history", sort="-revision", page_size=1)
    assert newest["results"][0]["revision"] == everything[-1]["revision"]
    admin_only = json.dumps({"==": [{"var": "actor"}, "admin"]})
    by_admin = history(http, f"/api/jobs/{job}/history", filter=admin_only, page_size=1)
    assert by_admin["count"] == sum(e["actor"] is not None for e in everything)
    r = http.get(f"/api/jobs/{job}/history", params={"sort": "nope"})
    assert r.status_code == 400


def test_task_history_holds_the_task_and_its_jobs_by_position(http, task):
    create(http, task.job(1), rect(task, frame=12))
    entries = history(http, f"/api/tasks/{task.id}/history", page_size="all")["results"]
    streams = {e["stream"] for e in entries}
    assert {f"task-{task.id}", f"job-{task.job(0)}", f"job-{task.job(1)}"} <= streams
    positions = [e["position"] for e in entries]
    assert positions == sorted(positions)
    only_job = history(http, f"/api/tasks/{task.id}/history", stream=f"job-{task.job(1)}")
    assert only_job["count"] == sum(e["stream"] == f"job-{task.job(1)}" for e in entries)


def test_history_needs_view_permission(server, http, task):
    stranger = register(server.url)
    auth = (stranger["username"], stranger["password"])
    for path in (f"/api/jobs/{task.job(0)}/history", f"/api/tasks/{task.id}/history",
                 f"/api/jobs/{task.job(0)}/history/export"):  # fmt: skip
        assert httpx.get(server.url + path, auth=auth).status_code == 404
    assert http.get("/api/jobs/999999/history").status_code == 404


def test_history_exports_as_json_lines(http, task):
    job = task.job(0)
    create(http, job, rect(task))
    listed = history(http, f"/api/jobs/{job}/history", page_size="all")["results"]
    for r in (http.get(f"/api/jobs/{job}/history", params={"format": "jsonl"}),
              http.get(f"/api/jobs/{job}/history/export")):  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/jsonl")
        lines = r.text.splitlines()
        assert [json.loads(line) for line in lines][: len(listed)] == listed
        assert r.text.endswith("\n")
    assert http.get(f"/api/jobs/{job}/history", params={"format": "xml"}).status_code == 400


# --- time travel ------------------------------------------------------------------------


def test_annotations_at_a_time_show_the_state_then(http, task):
    job = task.job(1)
    create(http, job, rect(task, frame=13))  # a smaller id on a later frame: GET's order
    [shape] = create(http, job, rect(task, frame=11))
    time.sleep(0.05)
    then = datetime.datetime.now(datetime.UTC)
    past = ann(http, f"/api/jobs/{job}/annotations")
    time.sleep(0.05)
    update(http, job, {"id": shape["id"], "points": [5, 5, 9, 9]})
    at = ann(http, f"/api/jobs/{job}/annotations?" + str(httpx.QueryParams(at=then.isoformat())))
    assert at == past
    by_revision = ann(http, f"/api/jobs/{job}/annotations?revision={past['version']}")
    assert by_revision == past
    now = ann(http, f"/api/jobs/{job}/annotations")
    assert [s["points"] for s in now["shapes"] if s["id"] == shape["id"]] == [[5, 5, 9, 9]]
    # Before the job existed: nothing.
    empty = ann(http, f"/api/jobs/{job}/annotations?at=2000-01-01T00:00:00Z")
    assert empty == {"version": 0, "tags": [], "shapes": [], "tracks": []}
    # Task level: the jobs as they were.
    task_then = ann(
        http, f"/api/tasks/{task.id}/annotations?" + str(httpx.QueryParams(at=then.isoformat()))
    )
    assert shape["id"] in {s["id"] for s in task_then["shapes"]}
    shown = next(s for s in task_then["shapes"] if s["id"] == shape["id"])
    assert shown["points"] == shape["points"]


@pytest.mark.parametrize(
    ("query", "param"),
    [("at=yesterday", "at"), ("revision=99999", "revision"), ("revision=-1", "revision"),
     ("revision=x", "revision"), ("revision=0&at=2020-01-01", "at")],
)  # fmt: skip
def test_bad_time_travel_parameters_are_400_naming_the_parameter(http, task, query, param):
    r = http.get(f"/api/jobs/{task.job(0)}/annotations?{query}")
    assert r.status_code == 400, r.text
    assert param in r.text
    r = http.get(f"/api/tasks/{task.id}/annotations?at=soon")
    assert r.status_code == 400 and "at" in r.json()


# --- undo / redo ------------------------------------------------------------------------


def post(client: httpx.Client, path: str) -> httpx.Response:
    return client.post(path)


def test_undo_and_redo_a_change_over_http(http, task):
    job = task.job(0)
    [shape] = create(http, job, rect(task, frame=3))
    before = shapes_by_id(http, job)[shape["id"]]
    update(http, job, {"id": shape["id"], "points": [3, 3, 8, 8], "z_order": 4})
    after = shapes_by_id(http, job)[shape["id"]]
    r = post(http, f"/api/jobs/{job}/undo")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["action"] == "undo" and body["skipped"] == []
    assert shapes_by_id(http, job)[shape["id"]] == before
    entries = history(http, f"/api/jobs/{job}/history", sort="-revision", page_size=1)
    assert entries["results"][0]["undo_of"] == body["target"]
    assert entries["results"][0]["revision"] == body["revision"]
    r = post(http, f"/api/jobs/{job}/redo")
    assert r.status_code == 200, r.text
    assert shapes_by_id(http, job)[shape["id"]] == after
    assert post(http, f"/api/jobs/{job}/redo").status_code == 409  # nothing left to redo
    # Undo again: the redo is undone; then the create itself.
    assert post(http, f"/api/jobs/{job}/undo").status_code == 200
    assert shapes_by_id(http, job)[shape["id"]] == before
    assert post(http, f"/api/jobs/{job}/undo").status_code == 200
    assert shape["id"] not in shapes_by_id(http, job)


def test_one_write_with_several_events_is_undone_as_one(http, task):
    job = task.job(1)
    track = {"frame": 12, "label_id": task.label("car"), "shapes": [
        {"type": "rectangle", "frame": 12, "points": [0, 0, 5, 5]}]}  # fmt: skip
    r = http.patch(f"/api/jobs/{job}/annotations", params={"action": "create"},
                   json={"tracks": [track]})  # fmt: skip
    created = r.json()["tracks"][0]
    before = ann(http, f"/api/jobs/{job}/annotations")
    # Group and keyframes in one request: ObjectsUpdated + TrackKeyframesChanged.
    color = task.attr("car", "color")
    change = {"id": created["id"], "group": 7, "attributes": [{"spec_id": color, "value": "red"}],
              "shapes": [*created["shapes"],
                         {"type": "rectangle", "frame": 15, "points": [1, 1, 6, 6]}]}  # fmt: skip
    r = http.patch(f"/api/jobs/{job}/annotations", params={"action": "update"},
                   json={"tracks": [change]})  # fmt: skip
    assert r.status_code == 200, r.text
    types = [e["type"] for e in history(http, f"/api/jobs/{job}/history",
                                        sort="-revision", page_size=2)["results"]]  # fmt: skip
    assert types == ["TrackKeyframesChanged", "ObjectsUpdated"]
    assert post(http, f"/api/jobs/{job}/undo").status_code == 200
    now = ann(http, f"/api/jobs/{job}/annotations")
    assert now["tracks"] == before["tracks"]


def test_undo_keeps_another_users_later_edit(server, http, task):
    job = task.job(0)
    other = register(server.url)
    r = http.patch(f"/api/jobs/{job}", json={"assignee": other["id"]})
    assert r.status_code == 200, r.text
    with httpx.Client(base_url=server.url, auth=(other["username"], other["password"]),
                      timeout=60) as bob:  # fmt: skip
        assert post(bob, f"/api/jobs/{job}/undo").status_code == 409  # nothing of Bob's yet
        [shape] = create(http, job, rect(task, frame=5))
        update(http, job, {"id": shape["id"], "points": [4, 4, 9, 9], "occluded": True})
        update(bob, job, {"id": shape["id"], "points": [6, 6, 9, 9]})
        r = post(http, f"/api/jobs/{job}/undo")
        assert r.status_code == 200, r.text
        [skipped] = r.json()["skipped"]
        assert (skipped["id"], skipped["properties"]) == (shape["id"], ["points"])
        now = shapes_by_id(http, job)[shape["id"]]
        assert now["points"] == [6, 6, 9, 9] and now["occluded"] is False
        # Bob undoes his own edit: the points he overwrote (Ada's) come back.
        assert post(bob, f"/api/jobs/{job}/undo").status_code == 200
        assert shapes_by_id(http, job)[shape["id"]]["points"] == [4, 4, 9, 9]
        assert post(bob, f"/api/jobs/{job}/undo").status_code == 409
    stranger = register(server.url)
    r = httpx.post(f"{server.url}/api/jobs/{job}/undo",
                   auth=(stranger["username"], stranger["password"]))  # fmt: skip
    assert r.status_code == 404


def test_an_erased_user_leaves_history_with_the_id_only(server, http, task):
    job = task.job(1)
    other = register(server.url)
    assert http.patch(f"/api/jobs/{job}", json={"assignee": other["id"]}).status_code == 200
    auth = (other["username"], other["password"])
    with httpx.Client(base_url=server.url, auth=auth, timeout=60) as client:
        [shape] = create(client, job, rect(task, frame=14))
    assert http.delete(f"/api/users/{other['id']}").status_code == 204
    entries = history(http, f"/api/jobs/{job}/history", actor_id=other["id"])["results"]
    assert [e["actor"] for e in entries] == [{"id": other["id"], "username": None}]
    assert entries[0]["data"]["shapes"][0]["id"] == shape["id"]
    assert other["username"] not in http.get(f"/api/jobs/{job}/history/export").text


def test_at_without_a_zone_is_utc(http, task):
    job = task.job(0)
    now = datetime.datetime.now(datetime.UTC)
    naive = now.replace(tzinfo=None).isoformat()
    assert ann(http, f"/api/jobs/{job}/annotations?at={naive}") == ann(
        http, f"/api/jobs/{job}/annotations?" + str(httpx.QueryParams(at=now.isoformat()))
    )


def test_concurrent_undos_each_undo_a_different_change(server, http, task):
    """Each undo appends with the revision it planned on; a concurrent one plans again on
    the newer log, so no change is undone twice and none is skipped."""
    import concurrent.futures

    job = task.job(1)
    [shape] = create(http, job, rect(task, frame=16))
    before = shapes_by_id(http, job)
    for z in range(1, 5):
        update(http, job, {"id": shape["id"], "z_order": z, "points": [z, z, 9 + z, 9 + z]})

    def undo_once(_: int) -> httpx.Response:
        with httpx.Client(base_url=server.url, auth=server.admin, timeout=60) as client:
            return client.post(f"/api/jobs/{job}/undo")

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(undo_once, range(4)))
    assert [r.status_code for r in answers] == [200] * 4, [r.text for r in answers]
    assert len({r.json()["target"] for r in answers}) == 4
    assert shapes_by_id(http, job) == before
