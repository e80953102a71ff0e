"""Postgres adapter of the EventStore port, with group commit.

Never skip: appends take a transaction-level advisory lock (readers are not blocked) and
allocate positions as max(position)+1 under it, so transactions commit in position order:
once a reader sees position p, every smaller position is visible or will never exist. A
sequence would allocate positions before commit and let a late commit land behind a reader.

Group commit: appends that arrive while a transaction is in flight wait in a queue and go
together in the next transaction: one call of `vellum_append()` (migration 004), one lock,
one WAL flush. Each keeps its own expected-revision check and result: a failing append
inserts nothing and never fails its neighbours. Only a database error fails the batch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import psycopg
from psycopg_pool import AsyncConnectionPool

from backend.db import conninfo_of
from backend.metrics import APPEND_BATCH_SIZE, EVENTS_APPENDED

from .port import (
    AppendResult,
    DuplicateEventId,
    EventStoreError,
    ExpectedRevision,
    ExpectedState,
    NewEvent,
    RecordedEvent,
    Snapshot,
    WrongExpectedRevision,
    validate_expected,
)

NOTIFY_CHANNEL = "vellum_events"

_COLUMNS = (
    "position, stream_id, revision, event_id, type, version, data, metadata::text, recorded_at"
)
# Binary parameters: bytea arrays in text form would be hex-escaped by a regex per element.
_APPEND = (
    "SELECT * FROM vellum_append(%b::text[], %b::bigint[], %b::int[], %b::uuid[], %b::text[],"
    " %b::int[], %b::bytea[], %b::text[])"
)
_APPEND_ONE = (
    "SELECT * FROM vellum_append_one(%b::text, %b::bigint, %b::uuid, %b::text, %b::int,"
    " %b::bytea, %b::text)"
)

_json = msgspec.json.Encoder()
_decode_metadata = msgspec.json.Decoder(dict[str, object])


@dataclass
class _Pending:
    stream_id: str
    events: Sequence[NewEvent]
    expected: ExpectedRevision
    future: asyncio.Future[AppendResult]


def _expected_code(expected: ExpectedRevision) -> int:
    """The encoding vellum_append() understands (see migration 004)."""
    if isinstance(expected, int):
        return expected
    return {ExpectedState.NO_STREAM: -1, ExpectedState.ANY: -2, ExpectedState.STREAM_EXISTS: -3}[
        expected
    ]


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
        self._committer: asyncio.Task[None] | None = None
        self._closed = False
        # The committer's own connection, outside the pool (replaced after any error).
        self._conn: psycopg.AsyncConnection[tuple[Any, ...]] | None = None

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
        if len({e.event_id for e in events}) != len(events):
            raise ValueError("an append must not repeat an event id")
        validate_expected(expected_revision)  # a bad argument fails this append only
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(stream_id, events, expected_revision, future))
        if self._committer is None or self._committer.done():
            # A task of its own, not the caller: a cancelled caller must not strand the
            # other appends of its batch.
            self._committer = asyncio.create_task(self._drain(), name="eventstore-commit")
        return await future

    async def _drain(self) -> None:
        """Commit batches until the queue is empty. Appends that arrive while a batch is in
        the database form the next batch: under load batches grow by themselves."""
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            await self._commit(batch)

    async def _commit(self, batch: list[_Pending]) -> None:
        conn = None
        try:
            conn = await self._connection()
            rows = await self._call(conn, batch)
        except Exception as exc:  # a database error fails every append of the batch
            if conn is not None:
                await conn.close()  # its state is unknown: never reuse it
            error = EventStoreError(f"append failed, outcome unknown (retry is safe): {exc}")
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(error)
            return
        else:
            self._conn = conn
        # Committed and flushed: only now may anyone learn that their append succeeded.
        APPEND_BATCH_SIZE.observe(len(batch))
        for pending, (status, first, last, revision, actual) in zip(batch, rows, strict=True):
            if status == "ok":
                EVENTS_APPENDED.inc(len(pending.events))
            if pending.future.done():
                continue
            if status in ("ok", "retry"):
                pending.future.set_result(AppendResult(first, last, revision))
            elif status == "wrong":
                pending.future.set_exception(
                    WrongExpectedRevision(pending.stream_id, pending.expected, actual)
                )
            else:
                pending.future.set_exception(
                    DuplicateEventId(
                        f"stream {pending.stream_id!r}: some of these event ids are already "
                        "stored differently"
                    )
                )

    async def _connection(self) -> psycopg.AsyncConnection[tuple[Any, ...]]:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            return conn
        return await psycopg.AsyncConnection.connect(conninfo_of(self._pool), autocommit=True)

    @staticmethod
    async def _call(
        conn: psycopg.AsyncConnection[tuple[Any, ...]], batch: list[_Pending]
    ) -> list[tuple[Any, ...]]:
        """(status, first, last, revision, actual) per append, in batch order."""
        if len(batch) == 1 and len(batch[0].events) == 1:
            # Alone in its batch (a single writer, most of the time): the lean function.
            pending, event = batch[0], batch[0].events[0]
            cur = await conn.execute(
                _APPEND_ONE,
                [pending.stream_id, _expected_code(pending.expected), event.event_id,
                 event.type, event.version, event.data,
                 _json.encode(event.metadata).decode()],
            )  # fmt: skip
            row = await cur.fetchone()
            if row is not None and row[0] == "ok":
                return [row]
            # Nothing was inserted: let the general function tell what happened.
        events = [e for p in batch for e in p.events]
        params = [
            [p.stream_id for p in batch],
            [_expected_code(p.expected) for p in batch],
            [len(p.events) for p in batch],
            [e.event_id for e in events],
            [e.type for e in events],
            [e.version for e in events],
            [e.data for e in events],
            [_json.encode(e.metadata).decode() for e in events],
        ]
        cur = await conn.execute(_APPEND, params)
        rows = await cur.fetchall()
        rows.sort(key=lambda r: r[0])
        return [r[1:] for r in rows]

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

    async def read_op(self, stream_id: str, op_id: str, actor: int) -> list[RecordedEvent]:
        """The events of `stream_id` that one realtime op of `actor` appended (metadata
        `op_id`), oldest first. Postgres-specific (not in the port): it serves re-sent ops."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM events WHERE metadata ? 'op_id'"
                " AND metadata ->> 'op_id' = %s AND stream_id = %s"
                " AND metadata ->> 'actor' = %s ORDER BY revision",
                [op_id, stream_id, str(actor)],
                binary=True,
            )
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
        async with doorbell(conninfo_of(self._pool)) as ring:
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
        if self._committer is not None:  # queued appends finish rather than strand callers
            await self._committer
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


@contextlib.asynccontextmanager
async def doorbell(
    conninfo: str, channel: str = NOTIFY_CHANNEL
) -> AsyncIterator[Callable[[float], Awaitable[None]]]:
    """A LISTEN connection on `channel`; `await ring(timeout)` returns on the next
    notification or after `timeout` seconds, whichever comes first. If the connection
    breaks, ring() degrades to a plain sleep and reconnects on the next call."""
    conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    async def connect() -> psycopg.AsyncConnection[tuple[object, ...]] | None:
        try:
            c = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
            await c.execute(f"LISTEN {channel}")
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
