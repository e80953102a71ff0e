"""Who may do what on projects, tasks, jobs and labels, per system role, through the real
server: the owner, a user assigned to one job, another user, a worker, and an admin."""

from __future__ import annotations

import time

import httpx
import pytest
from PIL import Image

from tests.api.iam_helpers import PASSWORD, register, set_role, unique


def client(server, user: dict[str, object] | None = None) -> httpx.Client:
    auth = server.admin if user is None else (str(user["username"]), PASSWORD)
    return httpx.Client(base_url=server.url, auth=auth, timeout=60)


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, (response.request.url, response.text)
    return response.json() if response.content else {}


@pytest.fixture(scope="module")
def world(server, tmp_path_factory):
    """An owner's project with a two-job task; `annotator` is assigned to the first job."""
    owner, annotator, stranger, worker = (register(server.url) for _ in range(4))
    set_role(server.url, server.admin, int(worker["id"]), "worker")
    with client(server, owner) as api:
        project = ok(api.post("/api/projects", json={"name": unique("p"), "labels": [
            {"name": "car"}]}), 201)  # fmt: skip
        task = ok(api.post("/api/tasks", json={"name": unique("t"), "project_id": project["id"],
                                                "segment_size": 2}), 201)  # fmt: skip
        files = []
        for i in range(4):
            path = tmp_path_factory.mktemp("img") / f"{i}.png"
            Image.new("RGB", (8, 8)).save(path)
            files.append((f"client_files[{i}]", (path.name, path.read_bytes(), "image/png")))
        rq = ok(api.post(f"/api/tasks/{task['id']}/data/", data={"image_quality": "70"},
                         files=files), 202)["rq_id"]  # fmt: skip
        for _ in range(200):
            status = ok(api.get(f"/api/requests/{rq}"))["status"]
            if status in ("finished", "failed"):
                break
            time.sleep(0.05)
        assert status == "finished"
        jobs = ok(api.get("/api/jobs", params={"task_id": task["id"]}))["results"]
        jobs.sort(key=lambda j: j["start_frame"])
        ok(api.patch(f"/api/jobs/{jobs[0]['id']}", json={"assignee": annotator["id"]}))
    return {
        "owner": owner, "annotator": annotator, "stranger": stranger, "worker": worker,
        "project": project["id"], "task": task["id"], "job": jobs[0]["id"],
        "other_job": jobs[1]["id"],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("owner", {"project": 200, "task": 200, "job": 200, "other_job": 200}),
        ("annotator", {"project": 200, "task": 200, "job": 200, "other_job": 404}),
        ("stranger", {"project": 404, "task": 404, "job": 404, "other_job": 404}),
        ("worker", {"project": 404, "task": 404, "job": 404, "other_job": 404}),
        ("admin", {"project": 200, "task": 200, "job": 200, "other_job": 200}),
    ],
)
def test_who_may_see_what(server, world, who, expected) -> None:
    user = None if who == "admin" else world[who]
    with client(server, user) as api:
        seen = {
            "project": api.get(f"/api/projects/{world['project']}").status_code,
            "task": api.get(f"/api/tasks/{world['task']}").status_code,
            "job": api.get(f"/api/jobs/{world['job']}").status_code,
            "other_job": api.get(f"/api/jobs/{world['other_job']}").status_code,
        }
        assert seen == expected
        listed_tasks = {t["id"] for t in ok(api.get("/api/tasks", params={"page_size": "all"}))[
            "results"]}  # fmt: skip
        assert (world["task"] in listed_tasks) == (expected["task"] == 200)
        listed_jobs = {j["id"] for j in ok(api.get("/api/jobs", params={"page_size": "all"}))[
            "results"]}  # fmt: skip
        assert (world["job"] in listed_jobs) == (expected["job"] == 200)
        assert (world["other_job"] in listed_jobs) == (expected["other_job"] == 200)


def test_an_annotator_may_work_but_not_manage(server, world) -> None:
    with client(server, world["annotator"]) as api:
        ok(api.patch(f"/api/jobs/{world['job']}", json={"state": "in progress"}))
        assert (
            api.patch(f"/api/jobs/{world['job']}", json={"stage": "acceptance"}).status_code == 403
        )
        assert api.patch(f"/api/tasks/{world['task']}", json={"name": "x"}).status_code == 403
        assert api.delete(f"/api/tasks/{world['task']}").status_code == 403
        assert api.delete(f"/api/projects/{world['project']}").status_code == 403
        labels = ok(api.get("/api/labels", params={"job_id": world["job"]}))["results"]
        assert [lb["name"] for lb in labels] == ["car"]
        assert api.patch(f"/api/labels/{labels[0]['id']}", json={"name": "y"}).status_code == 403


def test_a_worker_may_create_nothing(server, world) -> None:
    with client(server, world["worker"]) as api:
        assert api.post("/api/projects", json={"name": "w"}).status_code == 403
        assert (
            api.post("/api/tasks", json={"name": "w", "labels": [{"name": "a"}]}).status_code == 403
        )


def test_a_stranger_cannot_touch_others_resources(server, world) -> None:
    with client(server, world["stranger"]) as api:
        for method, path in (
            ("PATCH", f"/api/projects/{world['project']}"),
            ("PATCH", f"/api/tasks/{world['task']}"),
            ("PATCH", f"/api/jobs/{world['job']}"),
            ("DELETE", f"/api/tasks/{world['task']}"),
        ):
            assert api.request(method, path, json={}).status_code == 404, (method, path)
        # A user may create a task, but not inside someone else's project.
        in_project = {"name": "s", "project_id": world["project"]}
        assert api.post("/api/tasks", json=in_project).status_code == 403
        assert api.get("/api/labels", params={"task_id": world["task"]}).status_code == 404
