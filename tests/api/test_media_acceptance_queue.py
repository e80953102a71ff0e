"""A creation cancelled while still queued (acceptance pass of #6): the server runs without
its in-process worker so the request stays queued, and a `vellum worker` is started after
the cancel, as a separate worker process would pick the job up later."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_task_data import Api, image_bytes


@pytest.fixture(scope="module")
def queued_server(services: Any, template_db: str) -> Iterator[Any]:
    from tests.conftest import api_server

    with api_server(services, template_db, redis_db=11, inprocess_worker="false") as running:
        yield running


def test_cancelled_while_queued_keeps_no_uploaded_file(services: Any, queued_server: Any) -> None:
    from tests.integration.helpers import start, stop, vellum_env

    api = Api(queued_server)
    api.start()
    assert api.send([("a.png", image_bytes(8, 6, (1, 2, 3)))]).status_code == 200
    rq_id = api.finish()
    uploads = Path(queued_server.data_dir) / "data" / "tasks" / str(api.task_id) / "uploads"
    assert [p for p in uploads.rglob("*") if p.is_file()]
    r = api.http.post(f"/api/requests/{rq_id}/cancel")
    assert r.status_code == 200, r.text
    assert api.http.get(f"/api/requests/{rq_id}").json()["status"] == "failed"

    env = vellum_env(
        database_url=queued_server.database_url,
        redis_url=f"{services.redis_url}?db=11",
        data_dir=queued_server.data_dir,
    )
    worker = start(["worker"], env, Path(queued_server.data_dir) / "worker.log")
    try:
        deadline = time.monotonic() + 30
        while [p for p in uploads.rglob("*") if p.is_file()]:
            assert worker.poll() is None, "the worker exited"
            assert time.monotonic() < deadline, "the cancelled request's uploads were kept"
            time.sleep(0.1)
    finally:
        assert stop(worker) == 0
    # The task takes new data afterwards (a new session, nothing left of the old one).
    api.start()
    assert api.send([("b.png", image_bytes(8, 6, (4, 5, 6)))]).status_code == 200


def test_a_task_deleted_before_its_creation_ran_fails_it_saying_so(
    services: Any, queued_server: Any
) -> None:
    # The worker found the task's files gone and failed with "Could not create the task
    # data: [Errno 2] No such file or directory: ..." (and an error in the server log).
    from tests.integration.helpers import start, stop, vellum_env

    api = Api(queued_server)
    api.start()
    assert api.send([("a.png", image_bytes(8, 6, (1, 2, 3)))]).status_code == 200
    rq_id = api.finish()
    assert api.http.delete(f"/api/tasks/{api.task_id}").status_code == 204
    env = vellum_env(
        database_url=queued_server.database_url,
        redis_url=f"{services.redis_url}?db=11",
        data_dir=queued_server.data_dir,
    )
    worker = start(["worker"], env, Path(queued_server.data_dir) / "worker.log")
    try:
        done = api.wait(rq_id)
    finally:
        assert stop(worker) == 0
    assert done["status"] == "failed"
    assert done["message"] == "The task was deleted while its data was being created."
    task_dir = Path(queued_server.data_dir) / "data" / "tasks" / str(api.task_id)
    assert not task_dir.exists()


async def test_a_cancelled_creation_stops_its_build_thread_before_cleaning_up() -> None:
    # `vellum serve` stopped mid-build: arq cancels the job, whose cleanup deleted the
    # build directory while the build thread went on writing frames into it.
    import asyncio
    import threading

    from workers.tasks_data import _in_thread, _Watch

    watch = _Watch()
    started, ended = threading.Event(), threading.Event()

    def work() -> None:
        started.set()
        try:
            while True:
                watch.check()
                time.sleep(0.01)
        finally:
            ended.set()

    job = asyncio.ensure_future(_in_thread(watch, work))
    assert await asyncio.to_thread(started.wait, 10)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert ended.is_set()
