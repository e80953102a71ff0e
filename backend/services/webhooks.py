"""Application service for webhooks: load the stream's state, decide, append with
the expected revision (deciding again after a concurrent write). Callers seal the
secret and check the target URL before they get here."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
from psycopg_pool import AsyncConnectionPool

from backend.domain import webhooks as domain
from backend.domain.errors import Conflict
from backend.domain.events import Event, decode_event, encode_event
from backend.eventstore.port import NO_STREAM, EventStore, NewEvent, WrongExpectedRevision
from backend.services.job_annotations import EventMetadata

_MAX_ATTEMPTS = 10


def stream_of(webhook_id: int) -> str:
    return f"webhook-{webhook_id}"


class WebhookService:
    def __init__(self, store: EventStore, pool: AsyncConnectionPool) -> None:
        self.store = store
        self.pool = pool

    async def load(self, webhook_id: int) -> domain.WebhookState:
        state = domain.WebhookState(webhook_id=webhook_id)
        for recorded in await self.store.read_stream(stream_of(webhook_id)):
            state.apply(decode_event(recorded.type, recorded.version, recorded.data))
        return state

    async def _decide(
        self,
        webhook_id: int,
        decide: Callable[[domain.WebhookState], Event],
        actor: int,
    ) -> int:
        meta = msgspec.to_builtins(EventMetadata(actor=actor, source="api"))
        stream = stream_of(webhook_id)
        for _ in range(_MAX_ATTEMPTS):
            state = await self.load(webhook_id)
            type_, version, data = encode_event(decide(state))
            event = NewEvent(type=type_, version=version, data=data, metadata=meta)
            expected = NO_STREAM if state.revision < 0 else state.revision
            try:
                result = await self.store.append(stream, [event], expected)
            except WrongExpectedRevision:
                continue
            return result.last_position
        raise Conflict(f"{stream} is changing too fast; retry", None)

    async def create(self, actor: int, fields: domain.WebhookFields) -> tuple[int, int]:
        """(new id, global position)."""
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT nextval('webhook_ids')")
            row = await cur.fetchone()
        assert row is not None
        webhook_id = int(row[0])
        event = domain.create(webhook_id, fields)
        return webhook_id, await self._decide(webhook_id, lambda _: event, actor)

    async def update(self, actor: int, webhook_id: int, fields: domain.WebhookFields) -> int:
        return await self._decide(webhook_id, lambda s: domain.update(s, fields), actor)

    async def delete(self, actor: int, webhook_id: int) -> int:
        return await self._decide(webhook_id, domain.delete, actor)
