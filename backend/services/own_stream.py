"""A resource whose events live on one stream of its own (cloud storages, webhooks): load
its state by replaying the stream, decide, append with the expected revision, and decide
again after a concurrent write. Ids come from a Postgres sequence."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

import msgspec
from psycopg_pool import AsyncConnectionPool

from backend.domain.errors import Conflict
from backend.domain.events import Event, decode_event, encode_event
from backend.eventstore.port import NO_STREAM, EventStore, NewEvent, WrongExpectedRevision
from backend.services.job_annotations import EventMetadata

_MAX_ATTEMPTS = 10


class StreamState(Protocol):
    revision: int

    def apply(self, event: Event) -> None: ...


S = TypeVar("S", bound=StreamState)
F = TypeVar("F")


class OwnStreamService(Generic[S, F]):
    def __init__(
        self, store: EventStore, pool: AsyncConnectionPool, *, prefix: str, sequence: str,
        new_state: Callable[[int], S], create: Callable[[int, F], Event],
        update: Callable[[S, F], Event], delete: Callable[[S], Event],
    ) -> None:  # fmt: skip
        self.store = store
        self.pool = pool
        self._prefix = prefix
        self._sequence = sequence
        self._new_state = new_state
        self._create = create
        self._update = update
        self._delete = delete

    def stream_of(self, ident: int) -> str:
        return f"{self._prefix}-{ident}"

    async def load(self, ident: int) -> S:
        state = self._new_state(ident)
        for recorded in await self.store.read_stream(self.stream_of(ident)):
            state.apply(decode_event(recorded.type, recorded.version, recorded.data))
        return state

    async def _decide(self, ident: int, decide: Callable[[S], Event], actor: int) -> int:
        meta = msgspec.to_builtins(EventMetadata(actor=actor, source="api"))
        stream = self.stream_of(ident)
        for _ in range(_MAX_ATTEMPTS):
            state = await self.load(ident)
            type_, version, data = encode_event(decide(state))
            event = NewEvent(type=type_, version=version, data=data, metadata=meta)
            expected = NO_STREAM if state.revision < 0 else state.revision
            try:
                result = await self.store.append(stream, [event], expected)
            except WrongExpectedRevision:
                continue
            return result.last_position
        raise Conflict(f"{stream} is changing too fast; retry", None)

    async def create(self, actor: int, fields: F) -> tuple[int, int]:
        """(new id, global position)."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(f"SELECT nextval('{self._sequence}')")
            row = await cur.fetchone()
        assert row is not None
        ident = int(row[0])
        event = self._create(ident, fields)
        return ident, await self._decide(ident, lambda _: event, actor)

    async def update(self, actor: int, ident: int, fields: F) -> int:
        return await self._decide(ident, lambda s: self._update(s, fields), actor)

    async def delete(self, actor: int, ident: int) -> int:
        return await self._decide(ident, self._delete, actor)
