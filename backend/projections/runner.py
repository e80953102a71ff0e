"""The projector runner: reads the global log from each projection's checkpoint and applies
events to its read model, storing the checkpoint in the SAME transaction as the change.

So a crash (even kill -9) at any point leaves each read model exactly at its checkpoint, and
a restart resumes there. Several runner processes may run at once: the checkpoint row is
locked (FOR UPDATE) while a batch is applied, and a runner that finds the checkpoint moved
skips what the other one already applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import psycopg
import structlog
from psycopg_pool import AsyncConnectionPool

from backend.db import conninfo_of
from backend.eventstore.port import EventStore, RecordedEvent
from backend.eventstore.postgres import doorbell
from backend.metrics import PROJECTION_POSITION

log = structlog.get_logger(__name__)

PROJECTED_CHANNEL = "vellum_projected"


class Projection(Protocol):
    name: str
    tables: tuple[str, ...]  # the read-model tables it owns (rebuilt by `vellum replay`)

    async def apply(
        self, conn: psycopg.AsyncConnection[tuple[object, ...]], events: Sequence[RecordedEvent]
    ) -> None:
        """Apply events (position order) inside the caller's transaction."""
        ...


@runtime_checkable
class Bounded(Protocol):
    """A projection that needs the others' read models exactly as of some events: it says
    how many of a batch's events one step may apply (at least 1)."""

    async def boundary(
        self, conn: psycopg.AsyncConnection[tuple[object, ...]], events: Sequence[RecordedEvent]
    ) -> int: ...


class ProjectionLag(Exception):
    """A read-your-writes wait ran out of time (the HTTP layer answers 503 + Retry-After)."""


class Projector:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        store: EventStore,
        projections: Sequence[Projection],
        *,
        batch: int = 1000,
        poll_s: float = 1.0,
    ) -> None:
        self.pool = pool
        self.store = store
        self.projections = list(projections)
        self.batch = batch
        self.poll_s = poll_s
        self.behind = False  # the last step left events it had read for the next one

    async def checkpoints(self) -> dict[str, int]:
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO projector_checkpoints (name) SELECT unnest(%s::text[])"
                " ON CONFLICT DO NOTHING",
                [[p.name for p in self.projections]],
            )
            cur = await conn.execute(
                "SELECT name, position FROM projector_checkpoints WHERE name = ANY(%s)",
                [[p.name for p in self.projections]],
            )
            return {name: int(pos) for name, pos in await cur.fetchall()}

    async def step(self, until_position: int | None = None) -> int:
        """Apply one batch to every projection that is behind. Returns how many events were
        read (0: every projection is at the head, or at `until_position`)."""
        marks = await self.checkpoints()
        low = min(marks.values(), default=0)
        events = await self.store.read_all(low, self.batch)
        full = len(events) == self.batch
        if until_position is not None:
            events = [e for e in events if e.position <= until_position]
        if not events:
            return 0
        end = await self._boundary(events)
        self.behind = full or end < len(events)
        events = events[:end]
        for projection in self.projections:
            if events[-1].position > marks[projection.name]:
                await self._apply(projection, events)
        return len(events)

    async def _boundary(self, events: list[RecordedEvent]) -> int:
        end = len(events)
        bounded = [p for p in self.projections if isinstance(p, Bounded)]
        if bounded:
            async with self.pool.connection() as conn:
                for projection in bounded:
                    end = min(end, max(1, await projection.boundary(conn, events)))
        return end

    async def _apply(self, projection: Projection, events: list[RecordedEvent]) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT position FROM projector_checkpoints WHERE name = %s FOR UPDATE",
                [projection.name],
            )
            row = await cur.fetchone()
            done = int(row[0]) if row else 0
            mine = [e for e in events if e.position > done]
            if not mine:
                return
            await projection.apply(conn, mine)
            last = mine[-1].position
            await conn.execute(
                "UPDATE projector_checkpoints SET position = %s WHERE name = %s",
                [last, projection.name],
            )
            await conn.execute("SELECT pg_notify(%s, %s)", [PROJECTED_CHANNEL, str(last)])
        PROJECTION_POSITION.labels(projection.name).set(last)

    async def catch_up(self, until_position: int | None = None) -> None:
        """Run until every projection has reached `until_position` (default: the head now)."""
        target = await self.store.head_position() if until_position is None else until_position
        while await self.step(target):
            pass

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Project forever (until `stop` is set). Errors are logged and retried: a read
        model must never silently stop moving."""
        stop = stop or asyncio.Event()
        async with doorbell(conninfo_of(self.pool)) as ring:
            while not stop.is_set():
                try:
                    await self.step()
                except Exception:
                    log.exception("projector step failed; retrying")
                    self.behind = False
                    await asyncio.sleep(self.poll_s)
                if not self.behind:
                    await ring(self.poll_s)


async def wait_for_projection(
    pool: AsyncConnectionPool, name: str, position: int, timeout_s: float = 5.0
) -> None:
    """Read-your-writes: return once projection `name` has applied `position`; raise
    ProjectionLag after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    async with doorbell(conninfo_of(pool), channel=PROJECTED_CHANNEL) as ring:
        while True:
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT position FROM projector_checkpoints WHERE name = %s", [name]
                )
                row = await cur.fetchone()
            if row is not None and int(row[0]) >= position:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProjectionLag(f"read model {name!r} has not reached position {position}")
            await ring(min(left, 0.25))


# How long background work (imports, exports, restores) waits for the read models: under
# load (several big imports at once) the projector lags far more than an HTTP request may
# wait, and work already appended must not be reported as failed because of that lag.
BACKGROUND_WAIT_S = 120.0


class ProjectionWaiter:
    """Read-your-writes for a whole process with ONE listening connection: a background
    task follows the projectors' checkpoints (NOTIFY on each commit, polling as a fallback)
    and wakes the requests waiting for a position."""

    def __init__(self, pool: AsyncConnectionPool, names: Sequence[str], timeout_s: float) -> None:
        self.pool = pool
        self.names = list(names)
        self.timeout_s = timeout_s
        self.low = 0  # every projection has applied at least this position
        self._changed = asyncio.Condition()
        self._waiting = 0
        self._task: asyncio.Task[None] | None = None

    async def _refresh(self) -> None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT coalesce(min(position), 0), count(*) FROM projector_checkpoints"
                " WHERE name = ANY(%s)",
                [self.names],
            )
            row = await cur.fetchone()
        low, found = (int(row[0]), int(row[1])) if row else (0, 0)
        low = low if found == len(self.names) else 0
        if low != self.low:
            self.low = low
            async with self._changed:
                self._changed.notify_all()

    async def _follow(self) -> None:
        async with doorbell(conninfo_of(self.pool), channel=PROJECTED_CHANNEL) as ring:
            while True:
                try:
                    await self._refresh()
                except Exception:
                    log.exception("reading projector checkpoints failed; retrying")
                await ring(0.25 if self._waiting else 2.0)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name="projection-waiter")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def wait(self, position: int, timeout_s: float | None = None) -> None:
        """Return once every read model has applied `position`; ProjectionLag after
        `timeout_s` (default: the request bound; background work passes BACKGROUND_WAIT_S)."""
        if self.low >= position:
            return
        self.start()
        self._waiting += 1
        try:
            async with asyncio.timeout(timeout_s or self.timeout_s), self._changed:
                await self._changed.wait_for(lambda: self.low >= position)
        except TimeoutError:
            raise ProjectionLag(f"read models have not reached position {position}") from None
        finally:
            self._waiting -= 1
