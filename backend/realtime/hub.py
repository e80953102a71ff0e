"""The per-process fan-out: ONE reader of the global event log for every socket of this
process.

The event store is the truth. The `vellum_events` NOTIFY (sent by every append, from any
process: REST, websocket, cvat-sdk, workers) only rings the bell; the hub then reads the
log with `read_all` from the last position it has seen and hands the events of job streams
that have subscribers here to their sessions (each message encoded once per event).
A lost notification costs at most one poll interval; the store's never-skip guarantee
means reading from the last position misses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

import msgspec
import structlog
from starlette.websockets import WebSocket

from backend.api import access
from backend.api.errors import ApiError
from backend.db import conninfo_of
from backend.domain.labels import LabelSet
from backend.eventstore.port import RecordedEvent
from backend.eventstore.postgres import doorbell
from backend.realtime import protocol
from backend.realtime.gate import authenticate_socket
from backend.realtime.presence import Presence
from backend.realtime.protocol import CLOSE_REASONS, CloseCode, encoder
from backend.realtime.session import ACL_SETTLE_S, Session
from backend.services.labels import labels_for_job

if TYPE_CHECKING:
    from backend.bootstrap import Container

log = structlog.get_logger(__name__)

READ_BATCH = 256  # bounds the memory a burst of large events (imports) takes here
POLL_S = 1.0
LABELS_TTL_S = 10.0


def job_of(stream_id: str) -> int | None:
    if not stream_id.startswith("job-"):
        return None
    try:
        return int(stream_id[4:])
    except ValueError:
        return None


class Hub:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.store = container.store
        self.pool = container.pool
        self.annotations = container.annotations
        self.jobs: dict[int, set[Session]] = {}
        self.presence = Presence(self, container.redis, container.settings.database_url)
        self._labels: dict[int, tuple[float, LabelSet]] = {}
        self._job_locks: dict[int, asyncio.Lock] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.position = 0
        # Bumped by every event that may change who may edit what: sessions re-check.
        self.acl_epoch = 0
        self.acl_changed_at = 0.0
        self._recheck: asyncio.Task[None] | None = None
        self._recheck_pending = False

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self.position = await self.store.head_position()
        self._tasks.append(asyncio.create_task(self._listen(), name="realtime-hub"))
        self._tasks.extend(self.presence.start())

    async def stop(self) -> None:
        if self._recheck is not None:
            self._tasks.append(self._recheck)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()

    # --- registry ---------------------------------------------------------------------------

    def join(self, session: Session, job: int) -> None:
        self.jobs.setdefault(job, set()).add(session)

    def leave(self, session: Session, job: int) -> None:
        sessions = self.jobs.get(job)
        if sessions is not None:
            sessions.discard(session)
            if not sessions:
                del self.jobs[job]
        self.presence.leave(session, job)

    def sessions(self, job: int) -> set[Session]:
        return self.jobs.get(job, set())

    # --- helpers for sessions -------------------------------------------------------------

    async def labels(self, job: int, fresh: bool = False) -> LabelSet:
        """The job's labels, cached a few seconds (ops would otherwise read them every
        time); forgotten when a task or project changes, re-read by `fresh`."""
        cached = self._labels.get(job)
        now = time.monotonic()
        if cached is not None and cached[0] > now and not fresh:
            return cached[1]
        async with self.pool.connection() as conn:
            labels = await labels_for_job(conn, job)
        self._labels[job] = (now + LABELS_TTL_S, labels)
        if len(self._labels) > 1024:
            self._labels = {k: v for k, v in self._labels.items() if v[0] > now}
        return labels

    def _acl_changed(self) -> None:
        self.acl_epoch += 1
        self.acl_changed_at = time.monotonic()
        self._recheck_pending = True
        if self._recheck is None or self._recheck.done():
            self._recheck = asyncio.create_task(self._recheck_views(), name="realtime-acl")

    async def _recheck_views(self) -> None:
        """After owners, assignees or a stage changed, every subscriber must still see its
        job; those who no longer may are unsubscribed (`error {reason: forbidden}`), the
        others told when they became observers or editors again (`access`)."""
        while self._recheck_pending:
            self._recheck_pending = False
            await asyncio.sleep(ACL_SETTLE_S)  # the read models the check reads catch up
            pairs: dict[tuple[int, int], list[Session]] = {}
            for job, sessions in list(self.jobs.items()):
                for session in sessions:
                    pairs.setdefault((session.user.id, job), []).append(session)
            for (_, job), same_user in pairs.items():
                try:
                    async with self.pool.connection() as conn:
                        lock = await access.annotation_lock(conn, same_user[0].user, job)
                except ApiError:
                    for session in same_user:
                        session.revoke(job)
                except Exception:
                    log.exception("realtime: re-checking a subscription failed", job=job)
                else:
                    for session in same_user:
                        session.set_access(job, lock)

    def job_lock(self, job: int) -> asyncio.Lock:
        """Ops on one job run one at a time in this process. Appends to one stream are
        serialized by the store anyway (expected revision); letting this process's ops race
        each other would only make all but one of them decide again, and under load
        (tens of writers on one job) some would run out of retries."""
        lock = self._job_locks.get(job)
        if lock is None:
            if len(self._job_locks) > 4096:
                self._job_locks = {k: v for k, v in self._job_locks.items() if v.locked()}
            lock = self._job_locks[job] = asyncio.Lock()
        return lock

    @staticmethod
    def event_text(job: int, recorded: RecordedEvent) -> str:
        meta = recorded.metadata
        actor, op_id, source = meta.get("actor"), meta.get("op_id"), meta.get("source")
        message = protocol.EventMsg(
            job=job, revision=recorded.revision, position=recorded.position,
            event_type=recorded.type, version=recorded.version,
            data=msgspec.Raw(recorded.data),
            actor=actor if isinstance(actor, int) else None,
            op_id=op_id if isinstance(op_id, str) else None,
            source=source if isinstance(source, str) else "api",  # EventMetadata's default
        )  # fmt: skip
        return encoder.encode(message).decode()

    # --- the log reader ---------------------------------------------------------------------

    async def _listen(self) -> None:
        async with doorbell(conninfo_of(self.pool)) as ring:
            while True:
                try:
                    events = await self.store.read_all(self.position, READ_BATCH)
                except Exception:
                    log.exception("realtime hub: reading the log failed")
                    await asyncio.sleep(POLL_S)
                    continue
                for recorded in events:
                    self.position = recorded.position
                    job = job_of(recorded.stream_id)
                    if job is None and recorded.stream_id.startswith(("task-", "project-")):
                        self._labels.clear()  # labels may have changed
                        self._acl_changed()  # owners, assignees too
                    elif recorded.type == "JobUpdated":
                        self._acl_changed()  # a new assignee or stage
                    sessions = self.jobs.get(job) if job is not None else None
                    if not sessions or job is None:
                        continue
                    text = self.event_text(job, recorded)
                    for session in list(sessions):
                        session.deliver(job, recorded.revision, text)
                if len(events) < READ_BATCH:
                    await ring(POLL_S)

    # --- the endpoint -----------------------------------------------------------------------

    async def serve(self, ws: WebSocket) -> None:
        await ws.accept()
        try:
            user, can_write = await authenticate_socket(ws, self.container)
        except ApiError as exc:
            code = CloseCode.UNAUTHORIZED if exc.status == 401 else CloseCode.FORBIDDEN
            error = protocol.Error(
                reason="unauthorized" if exc.status == 401 else "forbidden",
                message=str(exc.detail),
            )
            with contextlib.suppress(Exception):
                await ws.send_text(encoder.encode(error).decode())
                await ws.close(code, CLOSE_REASONS[code])
            return
        limit = self.container.settings.ws_event_queue_limit
        await Session(ws, self, user, can_write, event_queue_limit=limit).run()


async def websocket_endpoint(ws: WebSocket) -> None:
    hub: Hub = ws.app.state.realtime
    await hub.serve(ws)
