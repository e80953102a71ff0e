"""In-memory EventStore: for domain unit tests and the shared contract suite only."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from .port import (
    AppendResult,
    ExpectedRevision,
    NewEvent,
    RecordedEvent,
    Snapshot,
    check_expected,
    retry_result,
    validate_expected,
)


class MemoryEventStore:
    def __init__(self) -> None:
        self._log: list[RecordedEvent] = []
        self._streams: dict[str, list[RecordedEvent]] = {}
        self._by_id: dict[object, RecordedEvent] = {}
        self._snapshots: dict[str, Snapshot] = {}
        self._changed = asyncio.Condition()

    async def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_revision: ExpectedRevision
    ) -> AppendResult:
        if not events:
            raise ValueError("append needs at least one event")
        validate_expected(expected_revision)
        stream = self._streams.get(stream_id, [])
        retried = retry_result(stream_id, events, [self._by_id.get(e.event_id) for e in events])
        if retried is not None:
            return retried
        current = len(stream) - 1 if stream else None
        check_expected(stream_id, expected_revision, current)
        now = datetime.now(UTC)
        start = len(stream)
        recorded = [
            RecordedEvent(
                position=len(self._log) + i + 1,
                stream_id=stream_id,
                revision=start + i,
                event_id=e.event_id,
                type=e.type,
                version=e.version,
                data=e.data,
                metadata=dict(e.metadata),
                recorded_at=now,
            )
            for i, e in enumerate(events)
        ]
        self._log.extend(recorded)
        self._streams.setdefault(stream_id, []).extend(recorded)
        self._by_id.update((r.event_id, r) for r in recorded)
        async with self._changed:
            self._changed.notify_all()
        return AppendResult(recorded[0].position, recorded[-1].position, recorded[-1].revision)

    async def read_stream(
        self, stream_id: str, from_revision: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        events = self._streams.get(stream_id, [])[from_revision:]
        return events if limit is None else events[:limit]

    async def stream_revision(self, stream_id: str) -> int | None:
        stream = self._streams.get(stream_id)
        return len(stream) - 1 if stream else None

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        return self._log[after_position : after_position + limit]

    async def head_position(self) -> int:
        return len(self._log)

    async def subscribe(
        self, after_position: int = 0, batch: int = 1000
    ) -> AsyncIterator[RecordedEvent]:
        position = after_position
        while True:
            events = await self.read_all(position, batch)
            for event in events:
                yield event
                position = event.position
            if not events:
                async with self._changed:
                    await self._changed.wait_for(functools.partial(self._longer_than, position))

    def _longer_than(self, position: int) -> bool:
        return len(self._log) > position

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        old = self._snapshots.get(snapshot.stream_id)
        if old is None or old.revision <= snapshot.revision:
            self._snapshots[snapshot.stream_id] = snapshot

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        return self._snapshots.get(stream_id)

    async def close(self) -> None:
        return None


__all__ = ["MemoryEventStore"]
