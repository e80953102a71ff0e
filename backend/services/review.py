"""Application service for review issues and comments: ids from the read model's sequences,
the pure decision (backend.domain.review), then one event appended to the job's stream.

Review events commute with annotation events (the annotation aggregate only counts them),
so they are appended without an expected revision: a concurrent annotation write then just
decides again on the newer revision. The endpoint has checked beforehand, on the read
model, that the issue or comment exists."""

from __future__ import annotations

import msgspec
from psycopg_pool import AsyncConnectionPool

from backend.domain.events import Event, encode_event
from backend.eventstore.port import ANY, EventStore, NewEvent
from backend.services.job_annotations import EventMetadata, job_stream


class ReviewService:
    def __init__(self, store: EventStore, pool: AsyncConnectionPool) -> None:
        self.store = store
        self.pool = pool

    async def next_ids(self, sequence: str, count: int = 1) -> list[int]:
        assert sequence in ("issue_ids", "comment_ids")
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT nextval('{sequence}') FROM generate_series(1, %s)",
                [count],
            )
            return [int(row[0]) for row in await cur.fetchall()]

    async def append(self, actor: int, job_id: int, event: Event) -> int:
        """Append `event` to the job's stream; its global position."""
        type_, version, data = encode_event(event)
        meta = msgspec.to_builtins(EventMetadata(actor=actor, source="api"))
        new = NewEvent(type=type_, version=version, data=data, metadata=meta)
        result = await self.store.append(job_stream(job_id), [new], ANY)
        return result.last_position
