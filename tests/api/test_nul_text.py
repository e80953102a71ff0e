"""A NUL character can never reach the event log: Postgres text and jsonb cannot store it,
so one such event would stop the projector (and every write after it) for good."""

from __future__ import annotations

import httpx

from tests.api.test_annotations import Task
from tests.conftest import Server


def test_nul_in_a_body_or_query_is_a_400_and_the_server_keeps_working(server: Server) -> None:
    with httpx.Client(base_url=server.url, auth=server.admin, timeout=60) as http:
        bodies = [
            ("/api/projects", {"name": "a\x00b"}),
            ("/api/projects", {"name": "fine", "labels": [{"name": "x\x00"}]}),
            ("/api/tasks", {"name": "t", "labels": [{"name": "car", "attributes": [
                {"name": "a", "input_type": "text", "mutable": False, "values": ["\x00"]}]}]}),
        ]  # fmt: skip
        for path, body in bodies:
            r = http.post(path, json=body)
            assert r.status_code == 400 and "NUL" in r.text, (body, r.status_code, r.text)
        task = Task(http, frames=2, segment_size=2)
        job = task.job(0)
        tag = {"frame": 0, "label_id": task.label("car"), "source": "manual\x00"}
        r = http.put(f"/api/jobs/{job}/annotations", json={"tags": [tag]})
        assert r.status_code == 400 and "NUL" in r.text, r.text
        r = http.get("/api/projects", params={"name": "a\x00"})
        assert r.status_code == 400 and "NUL" in r.text, r.text
        # nothing reached the log: writes still go through the projector
        r = http.post("/api/projects", json={"name": "after the NULs"})
        assert r.status_code == 201, r.text
        assert http.get(f"/api/projects/{r.json()['id']}").status_code == 200
