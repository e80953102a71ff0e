"""Postgres adapter of the EventStore port, with group commit.

Never skip: appends take `LOCK TABLE events IN EXCLUSIVE MODE` (readers are not blocked)
and allocate positions as max(position)+1 under that lock, so transactions commit in
position order: once a reader sees position p, every smaller position is visible or will
never exist. A sequence would allocate positions before commit and let a late commit land
behind a reader.

Group commit: appends that arrive while a transaction is in flight wait in a queue and go
together in the next transaction (one lock, one INSERT, one WAL flush). Each keeps its own
expected-revision check and result: a failing append is left out of the batch, it never
fails its neighbours. Only a database error fails the whole batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec
import psycopg
from psycopg_pool import AsyncConnectionPool

from .port import (
    AppendResult,
    EventStoreError,
    ExpectedRevision,
    NewEvent,
    RecordedEvent,
    Snapshot,
    check_expected,
    retry_result,
)

NOTIFY_CHANNEL = "vellum_events"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_COLUMNS = (
    "position, stream_id, revision, event_id, type, version, data, metadata::text, recorded_at"
)
_INSERT = (
    "INSERT INTO events (position, stream_id, revision, event_id, type, version, data, metadata)"
    " SELECT p, s, r, i, t, v, d, m::jsonb FROM unnest("
    "%s::bigint[], %s::text[], %s::bigint[], %s::uuid[], %s::text[], %s::int[], %s::bytea[],"
    " %s::text[]) AS u(p, s, r, i, t, v, d, m)"
    " RETURNING position, recorded_at"
)
_REVISIONS = (
    "SELECT s, (SELECT revision FROM events WHERE stream_id = s ORDER BY revision DESC LIMIT 1)"
    " FROM unnest(%s::text[]) AS s"
)
_KNOWN_IDS = f"SELECT {_COLUMNS} FROM events WHERE event_id = ANY(%s::uuid[])"

_json = msgspec.json.Encoder()
_decode_metadata = msgspec.json.Decoder(dict[str, object])


@dataclass
class _Pending:
    stream_id: str
    events: Sequence[NewEvent]
    expected: ExpectedRevision
    future: asyncio.Future[AppendResult]
    # filled while the batch is decided:
    rows: list[tuple[object, ...]] = field(default_factory=list)


def _record(row: tuple[object, ...]) -> RecordedEvent:
    position, stream_id, revision, event_id, type_, version, data, metadata, recorded_at = row
    return RecordedEvent(
        position=position,  # type: ignore[arg-type]
        stream_id=stream_id,  # type: ignore[arg-type]
        revision=revision,  # type: ignore[arg-type]
        event_id=event_id,  # type: ignore[arg-type]
        type=type_,  # type: ignore[arg-type]
        version=version,  # type: ignore[arg-type]
        data=bytes(data),  # type: ignore[call-overload]
        metadata=_decode_metadata.decode(metadata),  # type: ignore[arg-type]
        recorded_at=recorded_at,  # type: ignore[arg-type]
    )


class PostgresEventStore:
    def __init__(self, pool: AsyncConnectionPool, *, max_batch: int = 256) -> None:
        self._pool = pool
        self._max_batch = max_batch
        self._queue: list[_Pending] = []
        self._wake = asyncio.Event()
        self._committer: asyncio.Task[None] | None = None
        self._closed = False

    # -- writing -------------------------------------------------------------------------

    async def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_revision: ExpectedRevision
    ) -> AppendResult:
        if not events:
            raise ValueError("append needs at least one event")
        if not stream_id:
            raise ValueError("stream_id must not be empty")
        if self._closed:
            raise EventStoreError("the event store is closed")
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(stream_id, events, expected_revision, future))
        self._wake.set()
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_loop(), name="eventstore-commit")
        return await future

    async def _commit_loop(self) -> None:
        while not self._closed or self._queue:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                try:
                    await self._commit(batch)
                except Exception as exc:  # a database error fails every append of the batch
                    for pending in batch:
                        if not pending.future.done():
                            pending.future.set_exception(exc)

    async def _commit(self, batch: list[_Pending]) -> None:
        streams = list({p.stream_id for p in batch})
        ids = [e.event_id for p in batch for e in p.events]
        async with self._pool.connection() as conn, conn.pipeline(), conn.transaction():
            await conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
            head_cur = await conn.execute("SELECT coalesce(max(position), 0) FROM events")
            rev_cur = await conn.execute(_REVISIONS, [streams])
            known_cur = await conn.execute(_KNOWN_IDS, [ids])
            head_row = await head_cur.fetchone()
            head: int = head_row[0] if head_row else 0
            current: dict[str, int | None] = dict(await rev_cur.fetchall())
            known = {r.event_id: r for r in map(_record, await known_cur.fetchall())}
            results: dict[int, AppendResult | Exception] = {}
            accepted: list[_Pending] = []
            for index, pending in enumerate(batch):
                outcome = self._decide(pending, head, current, known)
                if isinstance(outcome, int):
                    accepted.append(pending)
                    head = outcome
                else:
                    results[index] = outcome
            if accepted:
                columns: list[list[object]] = [[] for _ in range(8)]
                for pending in accepted:
                    for row in pending.rows:
                        for column, value in zip(columns, row, strict=True):
                            column.append(value)
                await conn.execute(_INSERT, columns)
                await conn.execute("SELECT pg_notify(%s, %s)", [NOTIFY_CHANNEL, str(head)])
        # Committed and flushed: only now may anyone learn that their append succeeded.
        for index, pending in enumerate(batch):
            if pending.future.done():
                continue
            outcome = results.get(index)
            if outcome is None:
                first, last = pending.rows[0], pending.rows[-1]
                outcome = AppendResult(first[0], last[0], last[2])  # type: ignore[arg-type]
            if isinstance(outcome, Exception):
                pending.future.set_exception(outcome)
            else:
                pending.future.set_result(outcome)

    @staticmethod
    def _decide(
        pending: _Pending,
        head: int,
        current: dict[str, int | None],
        known: dict[uuid.UUID, RecordedEvent],
    ) -> int | AppendResult | Exception:
        """Check one append against the state the batch has reached so far. Returns the new
        head position when accepted (rows filled in), else its result or error."""
        try:
            retried = retry_result(
                pending.stream_id, pending.events, [known.get(e.event_id) for e in pending.events]
            )
            if retried is not None:
                return retried
            revision = current.get(pending.stream_id)
            check_expected(pending.stream_id, pending.expected, revision)
        except EventStoreError as exc:
            return exc
        next_revision = -1 if revision is None else revision
        pending.rows = []
        for event in pending.events:
            head += 1
            next_revision += 1
            pending.rows.append(
                (
                    head,
                    pending.stream_id,
                    next_revision,
                    event.event_id,
                    event.type,
                    event.version,
                    event.data,
                    _json.encode(event.metadata).decode(),
                )
            )
            # Later appends in the same batch see these as stored (retries, revisions).
            known[event.event_id] = RecordedEvent(
                position=head,
                stream_id=pending.stream_id,
                revision=next_revision,
                event_id=event.event_id,
                type=event.type,
                version=event.version,
                data=event.data,
                metadata=event.metadata,
                recorded_at=_EPOCH,
            )
        current[pending.stream_id] = next_revision
        return head

    # -- reading -------------------------------------------------------------------------

    async def read_stream(
        self, stream_id: str, from_revision: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        sql = (
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = %s AND revision >= %s"
            " ORDER BY revision"
        )
        params: list[object] = [stream_id, from_revision]
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql, params, binary=True)
            return [_record(row) for row in await cur.fetchall()]

    async def stream_revision(self, stream_id: str) -> int | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT max(revision) FROM events WHERE stream_id = %s", [stream_id]
            )
            row = await cur.fetchone()
            return None if row is None else row[0]

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM events WHERE position > %s ORDER BY position LIMIT %s",
                [after_position, limit],
                binary=True,
            )
            return [_record(row) for row in await cur.fetchall()]

    async def head_position(self) -> int:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT coalesce(max(position), 0) FROM events")
            row = await cur.fetchone()
            return int(row[0]) if row else 0

    async def subscribe(
        self, after_position: int = 0, batch: int = 1000, poll_interval: float = 1.0
    ) -> AsyncIterator[RecordedEvent]:
        """LISTEN/NOTIFY rings the bell; polling every `poll_interval` covers a lost
        notification or a dropped listener connection."""
        position = after_position
        async with doorbell(self._pool.conninfo) as ring:
            while True:
                events = await self.read_all(position, batch)
                for event in events:
                    yield event
                    position = event.position
                if len(events) < batch:
                    await ring(poll_interval)

    # -- snapshots -----------------------------------------------------------------------

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO snapshots (stream_id, revision, type, version, data)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (stream_id) DO UPDATE SET"
                " revision = excluded.revision, type = excluded.type,"
                " version = excluded.version, data = excluded.data, created_at = now()"
                " WHERE snapshots.revision <= excluded.revision",
                [snapshot.stream_id, snapshot.revision, snapshot.type, snapshot.version,
                 snapshot.data],
            )  # fmt: skip

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT revision, type, version, data FROM snapshots WHERE stream_id = %s",
                [stream_id],
                binary=True,
            )
            row = await cur.fetchone()
        if row is None:
            return None
        return Snapshot(
            stream_id=stream_id, revision=row[0], type=row[1], version=row[2], data=bytes(row[3])
        )

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        if self._committer is not None:  # queued appends finish rather than strand callers
            await self._committer


@contextlib.asynccontextmanager
async def doorbell(conninfo: str) -> AsyncIterator[Callable[[float], Awaitable[None]]]:
    """A LISTEN connection on NOTIFY_CHANNEL; `await ring(timeout)` returns on the next
    notification or after `timeout` seconds, whichever comes first. If the connection
    breaks, ring() degrades to a plain sleep and reconnects on the next call."""
    conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    async def connect() -> psycopg.AsyncConnection[tuple[object, ...]] | None:
        try:
            c = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
            await c.execute(f"LISTEN {NOTIFY_CHANNEL}")
            return c
        except psycopg.Error:
            return None

    async def ring(wait_s: float) -> None:
        nonlocal conn
        if conn is None or conn.closed:
            conn = await connect()
            if conn is None:
                await asyncio.sleep(wait_s)
                return
        try:
            async for _ in conn.notifies(timeout=wait_s, stop_after=1):
                pass
        except psycopg.Error:
            with contextlib.suppress(Exception):
                await conn.close()
            conn = None

    try:
        yield ring
    finally:
        if conn is not None:
            await conn.close()
