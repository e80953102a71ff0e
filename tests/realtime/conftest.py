"""Two `vellum serve` processes on ONE database and one Redis database (as two app
processes behind a load balancer would be), shared by the realtime tests, and helpers
to make jobs and users through the REST API."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import psycopg
import pytest

from backend.domain.annotations import CvatAnnotations, JobAnnotations
from backend.domain.events import decode_job_event
from tests.api.test_annotations import Task
from tests.conftest import ADMIN, Server, api_server

REDIS_DB = 12  # not shared with the servers of other test packages


class Pair(NamedTuple):
    a: Server
    b: Server

    def ws(self, server: Server | None = None) -> str:
        return (server or self.a).url.replace("http://", "ws://") + "/api/ws"


@contextlib.contextmanager
def second_server(first: Server, redis_url: str) -> Iterator[Server]:
    """Another `vellum serve` on the database of `first` (its own projector, no worker)."""
    from tests.integration.helpers import free_port, start, stop, vellum_env, wait_http

    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="vellum-rt-")
    env = vellum_env(
        database_url=first.database_url, redis_url=redis_url, port=str(port),
        data_dir=data_dir, admin_user=ADMIN[0], admin_password=ADMIN[1],
        inprocess_worker="false",  # task data lives in the first server's data dir
    )  # fmt: skip
    log = Path(data_dir) / "serve.log"
    proc = start(["serve"], env, log)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/server/about", proc)
        yield Server(f"http://127.0.0.1:{port}", ADMIN, first.database_url, data_dir)
    finally:
        if stop(proc) != 0:
            print(log.read_text()[-5000:])
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="package")
def pair(services: Any, template_db: str) -> Iterator[Pair]:
    with (
        api_server(services, template_db, redis_db=REDIS_DB) as a,
        second_server(a, f"{services.redis_url}?db={REDIS_DB}") as b,
    ):
        yield Pair(a, b)


@pytest.fixture(scope="package")
def admin_http(pair: Pair) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=pair.a.url, auth=pair.a.admin, timeout=60) as client:
        yield client


def rest(server: Server) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, auth=server.admin, timeout=60)


def new_job(http: httpx.Client, frames: int = 4) -> tuple[Task, int]:
    task = Task(http, frames=frames, segment_size=frames)
    return task, task.job(0)


def rect(task: Task, frame: int = 0, x: float = 0.0) -> dict[str, Any]:
    return {"type": "rectangle", "frame": frame, "label_id": task.label("person"),
            "points": [x, 1.0, x + 5.0, 6.0]}  # fmt: skip


def canonical(cvat: CvatAnnotations | dict[str, Any]) -> dict[str, Any]:
    """Annotations as comparable data: objects sorted by id, version left out."""
    import msgspec

    data = msgspec.to_builtins(cvat) if not isinstance(cvat, dict) else cvat
    data = msgspec.json.decode(msgspec.json.encode(data))
    out = {}
    for kind in ("shapes", "tracks", "tags"):
        items = sorted(data.get(kind, []), key=lambda o: o["id"])
        for item in items:
            if kind == "tracks":
                item["shapes"] = sorted(item["shapes"], key=lambda s: s["frame"])
        out[kind] = items
    return out


def replay(database_url: str, job: int) -> JobAnnotations:
    """The job folded from its events as the store has them (no cache, no snapshot)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT type, version, data FROM events WHERE stream_id = %s ORDER BY revision",
            [f"job-{job}"],
        ).fetchall()
    return JobAnnotations.from_events(decode_job_event(t, v, bytes(d)) for t, v, d in rows)
