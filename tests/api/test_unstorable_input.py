"""What Postgres cannot store never reaches the event log: a NUL character (text and jsonb
cannot hold it) or an integer past 32 bits (the read models' integer columns). One such
event would stop the projector, and every write waiting for it, for good."""

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


def test_integers_past_32_bits_are_a_400_and_the_server_keeps_working(server: Server) -> None:
    big = 2**40
    with httpx.Client(base_url=server.url, auth=server.admin, timeout=60) as http:
        labels = [{"name": "a"}]
        bodies = [
            ("/api/tasks", {"name": "t", "segment_size": big, "labels": labels}),
            ("/api/tasks", {"name": "t", "overlap": big, "labels": labels}),
            ("/api/projects", {"name": "p", "assignee_id": big}),
        ]
        for path, body in bodies:
            r = http.post(path, json=body)
            assert r.status_code == 400 and "Integers must be" in r.text, (body, r.text)
        task = Task(http, frames=2, segment_size=2)
        shape = {"type": "rectangle", "frame": 0, "label_id": task.label("car"),
                 "points": [1, 2, 3, 4], "z_order": big}  # fmt: skip
        r = http.put(f"/api/jobs/{task.job(0)}/annotations", json={"shapes": [shape]})
        assert r.status_code == 400 and "Integers must be" in r.text, r.text
        r = http.post("/api/projects", json={"name": "after the big numbers"})
        assert r.status_code == 201, r.text
