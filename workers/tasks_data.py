"""arq job: build a task's data from the files uploaded since Upload-Start, then record it
(`attach_task_data`). On any failure the request fails with a message naming the problem
and nothing of the half-made data set stays; cancellation is checked between frames."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
import structlog

from backend.media import sources, tasks_port, uploads
from backend.media.archive import ArchiveLimits
from backend.media.build import Cancelled, build
from backend.media.images import MediaError
from backend.media.spec import DataParams
from backend.media.storage import TaskStorage, tasks_root
from backend.services import requests
from backend.services import tasks as task_service

if TYPE_CHECKING:
    from backend.bootstrap import Container

log = structlog.get_logger(__name__)

OPERATION = "create:task"
DELETED_MESSAGE = "The task was deleted while its data was being created."
T = TypeVar("T")
PROGRESS_EVERY_S = 0.3


class _Watch:
    """Shared between the build thread and the event loop: progress out, cancel in."""

    def __init__(self) -> None:
        self.progress = 0.0
        self.cancelled = threading.Event()

    def set_progress(self, value: float) -> None:
        self.progress = value

    def check(self) -> None:
        if self.cancelled.is_set():
            raise Cancelled


async def _report(container: Container, rq_id: str, watch: _Watch) -> None:
    last = -1.0
    while True:
        await asyncio.sleep(PROGRESS_EVERY_S)
        async with container.pool.connection() as conn:
            if watch.progress != last:
                last = watch.progress
                cancel = await requests.set_progress(conn, rq_id, last)
            else:
                cancel = await requests.cancel_requested(conn, rq_id)
        if cancel:
            watch.cancelled.set()


async def create_task_data(ctx: dict[str, Any], rq_id: str) -> str:
    container: Container = ctx["container"]
    async with container.pool.connection() as conn:
        started = await requests.mark_started(conn, rq_id)
        row = await requests.get(conn, rq_id)
    if not started:  # cancelled while queued, or already handled
        if row is not None and row.status == "failed" and row.operation.task_id is not None:
            # Cancelled before it ran: its uploads are spent all the same.
            storage = TaskStorage(container.settings.data_dir, row.operation.task_id)
            await _drop_session(container, storage, row.params.get("session"))
        return "skipped"
    assert row is not None and row.operation.task_id is not None
    task_id = row.operation.task_id
    session = row.params.get("session")  # None: share / remote / cloud files only
    params = msgspec.convert(row.params["data"], DataParams)
    storage = TaskStorage(container.settings.data_dir, task_id)
    out = storage.build_dir(rq_id)
    gathered = out.with_name(f"{out.name}-sources")  # share copies and downloads
    try:
        await _drop_stale_builds(container, out.parent)
    except Exception:  # housekeeping only: never a reason to fail the creation
        log.warning("stale build directories not removed", task_id=task_id, exc_info=True)
    # Copying and downloading take the first part of the progress bar when there is any.
    fetching = params.server_files or params.remote_files or params.cloud_storage_id is not None
    fetch_part = 0.3 if fetching else 0.0
    watch = _Watch()
    reporter = asyncio.create_task(_report(container, rq_id, watch))
    outcome = "failed"
    try:
        received = await sources.gather(
            container, storage, row.params, gathered,
            lambda p: watch.set_progress(fetch_part * p), watch.check,
        )  # fmt: skip
        limits = ArchiveLimits(max_unpacked_bytes=container.settings.max_upload_mb * 4 * 2**20)
        stored = await _in_thread(watch, lambda: build(
            storage, out, received, params, limits=limits, check=watch.check,
            progress=lambda p: watch.set_progress(fetch_part + (1 - fetch_part) * p),
        ))  # fmt: skip
        reporter.cancel()
        if storage.has_data():
            raise MediaError("The task already has data; create a new task for more.")
        storage.publish(out)
        try:
            await tasks_port.attach(container, task_id, stored.spec, row.owner_id)
        except BaseException:
            storage.unpublish()
            raise
        async with container.pool.connection() as conn:
            await requests.finish(conn, rq_id)
        outcome = "finished"
        log.info("task data created", task_id=task_id, rq_id=rq_id, size=stored.spec.size)
    except Cancelled:
        async with container.pool.connection() as conn:
            await requests.fail(conn, rq_id, requests.CANCELLED_MESSAGE)
        outcome = "cancelled"
    except MediaError as exc:
        message = str(exc)
        if await _deleted(container, task_id):
            message, outcome = DELETED_MESSAGE, "deleted"
        async with container.pool.connection() as conn:
            await requests.fail(conn, rq_id, message)
    except Exception as exc:
        if await _deleted(container, task_id):  # its directory went: not a server fault
            log.info("task deleted while its data was created", task_id=task_id, rq_id=rq_id)
            message, outcome = DELETED_MESSAGE, "deleted"
        else:
            log.exception("task data creation failed", task_id=task_id, rq_id=rq_id)
            reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            message = f"Could not create the task data: {reason}"
        async with container.pool.connection() as conn:
            await requests.fail(conn, rq_id, message)
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(gathered, ignore_errors=True)
        # The uploaded files are spent either way (CVAT removes them too); a client that
        # retries starts again with Upload-Start.
        await _drop_session(container, storage, session)
        if outcome == "deleted":  # the task's delete ran before our files were made
            await asyncio.to_thread(storage.remove_all)
    return outcome


async def _deleted(container: Container, task_id: int) -> bool:
    """The task is gone (deleted while its data was made: its files went with it)."""
    async with container.pool.connection() as conn:
        return await task_service.get_task(conn, task_id) is None


async def _drop_stale_builds(container: Container, builds: Path) -> None:
    """Remove build directories (`<rq_id>`, `<rq_id>-sources`) a killed process left:
    those of requests no longer queued or running."""
    dirs = await asyncio.to_thread(lambda: list(builds.iterdir()) if builds.is_dir() else [])
    if not dirs:
        return
    async with container.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id::text FROM requests WHERE id::text = ANY(%s)"
            " AND status IN ('queued', 'started')",
            [[d.name[:36] for d in dirs]],
        )
        active = {row[0] for row in await cur.fetchall()}
    for stale in dirs:
        if stale.name[:36] not in active:
            await asyncio.to_thread(shutil.rmtree, stale, True)


async def sweep_stale_builds(container: Container) -> int:
    """At worker start: the build directories every task's killed builds left behind
    (a build removes its own on any failure it lives through). Returns how many tasks had
    a build directory looked at."""
    tasks = tasks_root(container.settings.data_dir)
    builds = await asyncio.to_thread(
        lambda: (
            [d / "build" for d in tasks.iterdir() if (d / "build").is_dir()]
            if tasks.is_dir()
            else []
        )
    )
    for directory in builds:
        await _drop_stale_builds(container, directory)
    return len(builds)


async def _in_thread(watch: _Watch, work: Callable[[], T]) -> T:
    """Run `work` in a thread; when this job is cancelled (worker shutdown), stop the
    thread at its next check and wait for it, so the cleanup after us deletes a build
    directory nobody writes to any more."""
    running = asyncio.ensure_future(asyncio.to_thread(work))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        watch.cancelled.set()
        with contextlib.suppress(BaseException):
            await running
        raise


async def _drop_session(container: Container, storage: TaskStorage, session: Any) -> None:
    if session:
        async with container.pool.connection() as conn:
            await uploads.end(conn, storage.task_id, str(session))
            keep = await uploads.current(conn, storage.task_id)
        shutil.rmtree(storage.session_dir(str(session)), ignore_errors=True)
        storage.drop_uploads(keep=keep)
