"""Application service for cloud storages: load the stream's state, decide, append with
the expected revision (deciding again after a concurrent write). Callers seal the
credentials and check the bucket before they get here."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
from psycopg_pool import AsyncConnectionPool

from backend.domain import cloudstorages as domain
from backend.domain.errors import Conflict
from backend.domain.events import Event, decode_event, encode_event
from backend.eventstore.port import NO_STREAM, EventStore, NewEvent, WrongExpectedRevision
from backend.services.job_annotations import EventMetadata

_MAX_ATTEMPTS = 10


def stream_of(cloud_storage_id: int) -> str:
    return f"cloudstorage-{cloud_storage_id}"


class CloudStorageService:
    def __init__(self, store: EventStore, pool: AsyncConnectionPool) -> None:
        self.store = store
        self.pool = pool

    async def load(self, cloud_storage_id: int) -> domain.CloudStorageState:
        state = domain.CloudStorageState(cloud_storage_id=cloud_storage_id)
        for recorded in await self.store.read_stream(stream_of(cloud_storage_id)):
            state.apply(decode_event(recorded.type, recorded.version, recorded.data))
        return state

    async def _decide(
        self,
        cloud_storage_id: int,
        decide: Callable[[domain.CloudStorageState], Event],
        actor: int,
    ) -> int:
        meta = msgspec.to_builtins(EventMetadata(actor=actor, source="api"))
        stream = stream_of(cloud_storage_id)
        for _ in range(_MAX_ATTEMPTS):
            state = await self.load(cloud_storage_id)
            type_, version, data = encode_event(decide(state))
            event = NewEvent(type=type_, version=version, data=data, metadata=meta)
            expected = NO_STREAM if state.revision < 0 else state.revision
            try:
                result = await self.store.append(stream, [event], expected)
            except WrongExpectedRevision:
                continue
            return result.last_position
        raise Conflict(f"{stream} is changing too fast; retry", None)

    async def create(self, actor: int, fields: domain.CloudStorageFields) -> tuple[int, int]:
        """(new id, global position)."""
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT nextval('cloud_storage_ids')")
            row = await cur.fetchone()
        assert row is not None
        cloud_storage_id = int(row[0])
        event = domain.create(cloud_storage_id, fields)
        return cloud_storage_id, await self._decide(cloud_storage_id, lambda _: event, actor)

    async def update(
        self, actor: int, cloud_storage_id: int, fields: domain.CloudStorageFields
    ) -> int:
        return await self._decide(cloud_storage_id, lambda s: domain.update(s, fields), actor)

    async def delete(self, actor: int, cloud_storage_id: int) -> int:
        return await self._decide(cloud_storage_id, domain.delete, actor)
