"""Projects, tasks, labels and jobs over HTTP against the real server."""

from __future__ import annotations

import uuid

import httpx
import pytest

LABELS = [
    {"name": "car", "color": "#ff0000", "attributes": [
        {"name": "color", "mutable": False, "input_type": "select", "values": ["red", "blue"],
         "default_value": "red"},
        {"name": "speed", "mutable": True, "input_type": "number", "values": ["0", "200", "5"]},
        {"name": "parked", "mutable": True, "input_type": "checkbox", "values": ["false"]},
        {"name": "plate", "mutable": False, "input_type": "text", "values": []},
        {"name": "kind", "mutable": False, "input_type": "radio", "values": ["suv", "van"]},
    ]},
    {"name": "person", "type": "skeleton", "sublabels": [{"name": "head"}, {"name": "foot"}],
     "svg": "<circle/>"},
]  # fmt: skip


@pytest.fixture
def api(server):
    with httpx.Client(base_url=server.url, auth=server.admin, timeout=30) as client:
        yield client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_project_crud_with_labels(api) -> None:
    name = unique("proj")
    created = api.post("/api/projects", json={"name": name, "labels": LABELS})
    assert created.status_code == 201, created.text
    project = created.json()
    assert project["name"] == name and project["organization"] is None
    assert project["owner"]["username"] == "admin"
    assert project["target_storage"] is None and project["tasks"]["count"] == 0
    pid = project["id"]
    assert api.get(f"/api/projects/{pid}").json()["id"] == pid
    labels = api.get("/api/labels", params={"project_id": pid, "org": ""}).json()
    assert labels["count"] == 2 and labels["next"] is None
    car, person = labels["results"]
    assert [a["name"] for a in car["attributes"]] == ["color", "speed", "parked", "plate", "kind"]
    assert car["attributes"][1]["default_value"] == "0"
    assert [s["name"] for s in person["sublabels"]] == ["head", "foot"]
    patched = api.patch(
        f"/api/projects/{pid}",
        json={"bug_tracker": "http://bugs", "labels": [{"id": car["id"], "name": "auto"},
                                                      {"name": "truck"}]},
    )  # fmt: skip
    assert patched.status_code == 200 and patched.json()["bug_tracker"] == "http://bugs"
    names = [lb["name"] for lb in api.get(f"/api/labels?project_id={pid}").json()["results"]]
    assert names == ["auto", "person", "truck"]
    listed = api.get("/api/projects", params={"search": name}).json()
    assert [p["id"] for p in listed["results"]] == [pid]
    assert api.delete(f"/api/projects/{pid}").status_code == 204
    assert api.get(f"/api/projects/{pid}").status_code == 404


def test_task_in_project_uses_project_labels(api) -> None:
    pid = api.post("/api/projects", json={"name": unique("p"), "labels": LABELS}).json()["id"]
    task = api.post("/api/tasks", json={"name": unique("t"), "project_id": pid, "segment_size": 5})
    assert task.status_code == 201, task.text
    body = task.json()
    assert body["project_id"] == pid and body["segment_size"] == 5
    assert body["jobs"] == {"count": 0, "completed": 0, "validation": 0,
                            "url": f"{api.base_url}/api/jobs?task_id={body['id']}"}  # fmt: skip
    labels = api.get("/api/labels", params={"task_id": body["id"]}).json()["results"]
    assert [lb["name"] for lb in labels] == ["car", "person"]
    tasks = api.get("/api/tasks", params={"project_id": pid, "org": "", "page": 1}).json()
    assert [t["id"] for t in tasks["results"]] == [body["id"]]
    assert api.get(f"/api/projects/{pid}").json()["tasks"]["count"] == 1


def test_task_validation_errors_name_the_field(api) -> None:
    cases = [
        ({"labels": [{"name": "x"}]}, "name"),
        ({"name": "t"}, "labels"),
        ({"name": "t", "project_id": 999999}, "project_id"),
        ({"name": "t", "labels": [{"name": "a"}, {"name": "a"}]}, "labels"),
        ({"name": "t", "labels": [{"name": "a", "attributes": [
            {"name": "n", "input_type": "number", "mutable": False, "values": ["9", "1", "1"]}]}]},
         "labels[0].attributes[0]"),
        ({"name": "t", "segment_size": "big", "labels": [{"name": "a"}]}, "segment_size"),
        ({"name": "t", "labels": [{"name": "a"}], "assignee_id": 424242}, "assignee_id"),
    ]  # fmt: skip
    for body, field in cases:
        response = api.post("/api/tasks", json=body)
        assert response.status_code == 400, (body, response.text)
        assert field in response.json(), (body, response.json())
    bad_json = api.post(
        "/api/tasks", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 400


def test_task_update_and_delete(api) -> None:
    task = api.post("/api/tasks", json={"name": unique("t"), "labels": [{"name": "car"}]}).json()
    tid = task["id"]
    patched = api.patch(f"/api/tasks/{tid}", json={"name": "renamed", "subset": "train",
                                                   "labels": [{"name": "bike"}]})  # fmt: skip
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "renamed" and patched.json()["subset"] == "train"
    assert [lb["name"] for lb in api.get(f"/api/labels?task_id={tid}").json()["results"]] == [
        "car", "bike"]  # fmt: skip
    label_id = api.get(f"/api/labels?task_id={tid}").json()["results"][0]["id"]
    assert api.patch(f"/api/labels/{label_id}", json={"color": "#00ff00"}).json()["color"] == (
        "#00ff00"
    )
    assert api.delete(f"/api/labels/{label_id}").status_code == 204
    assert [lb["name"] for lb in api.get(f"/api/labels?task_id={tid}").json()["results"]] == [
        "bike"]  # fmt: skip
    assert api.delete(f"/api/tasks/{tid}").status_code == 204
    assert api.get(f"/api/tasks/{tid}").status_code == 404


def test_cvat_sdk_creates_projects_and_tasks(server) -> None:
    from cvat_sdk import make_client

    with make_client(server.url, credentials=server.admin) as client:
        project = client.projects.create({"name": unique("sdk"), "labels": [{"name": "car"}]})
        task = client.tasks.create({"name": unique("sdk-task"), "project_id": project.id})
        assert task.project_id == project.id
        assert [lb.name for lb in task.get_labels()] == ["car"]
        assert task.id in [t.id for t in project.get_tasks()]
        assert task.get_jobs() == []
        task.update({"name": "renamed"})
        assert client.tasks.retrieve(task.id).name == "renamed"
        task.remove()
