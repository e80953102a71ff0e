"""Dataset requests while the read models lag: under load (several big imports at once) the
projector can be further behind than an HTTP request's read-your-writes bound. A background
import that has appended its events, or an export waiting for its version, must wait for the
projector instead of failing: a failed import whose annotations were nevertheless replaced
tells the client the opposite of what happened."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from backend.settings import Settings
from tests.api.test_dataset_io import boxes, coco, coco_box, coco_file, labels, new_task, wait

# Longer than the read-your-writes bound, so the old code failed the request.
LAG_S = Settings().read_your_writes_timeout_s + 2


def event_count(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM events").fetchone()
    assert row is not None
    return int(row[0])


@contextmanager
def projectors_held(database_url: str) -> Iterator[None]:
    """Every projector blocked on its checkpoint row (it takes it FOR UPDATE each step)
    until the block ends; appends and plain reads go on."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SELECT name FROM projector_checkpoints FOR UPDATE")
        yield
        conn.rollback()


def appended_then_lag(database_url: str, before: int) -> None:
    """Wait until events past `before` are appended, then let the projector lag LAG_S."""
    deadline = time.monotonic() + 60
    while event_count(database_url) <= before:
        assert time.monotonic() < deadline, "nothing was appended"
        time.sleep(0.1)
    time.sleep(LAG_S)  # the lag itself is the condition under test


def test_an_import_waits_for_a_lagging_projector_instead_of_failing(server: Any) -> None:
    api = new_task(server)
    before = event_count(server.database_url)
    with projectors_held(server.database_url):
        r = api.http.post(
            f"/api/tasks/{api.task_id}/annotations/", params={"format": "COCO 1.0"},
            files={"annotation_file": ("lag.json", coco_file([coco_box(1, 2, 7.0)]))},
        )  # fmt: skip
        assert r.status_code == 202, r.text
        appended_then_lag(server.database_url, before)
    done = wait(api.http, r.json()["rq_id"])
    assert done["status"] == "finished", done
    assert boxes(api) == [(1, "car", [7.0, 10.0, 22.0, 22.0])]


def test_an_export_waits_for_a_lagging_projector_instead_of_failing(server: Any) -> None:
    api = new_task(server)
    car = labels(api)["car"]
    before = event_count(server.database_url)
    with projectors_held(server.database_url):
        shape = {"type": "rectangle", "frame": 3, "label_id": car, "points": [1, 2, 9, 8]}
        body = {"shapes": [shape], "tracks": [], "tags": []}
        r = api.http.patch(
            f"/api/tasks/{api.task_id}/annotations", params={"action": "create"}, json=body
        )
        assert r.status_code in (200, 503), r.text  # 503: the server is catching up
        appended_then_lag(server.database_url, before)
        r = api.http.post(f"/api/tasks/{api.task_id}/dataset/export", params={"format": "COCO 1.0"})
        assert r.status_code == 202, r.text
        time.sleep(LAG_S)
    done = wait(api.http, r.json()["rq_id"])
    assert done["status"] == "finished", done
    archive = api.http.get(done["result_url"])
    assert archive.status_code == 200
    _, doc = coco(archive.content)
    assert [a["bbox"] for a in doc["annotations"]] == [[1.0, 2.0, 8.0, 6.0]]  # the edit
