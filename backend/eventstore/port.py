"""The EventStore port: what every adapter (Postgres, memory, KurrentDB) provides.

Positions are global and strictly increasing, starting at 1; 0 means "before everything".
Revisions are 0-based per stream. A reader of the global log (`read_all`, `subscribe`) never
skips an event: every adapter guarantees that once position p is visible, every event with
a smaller position that will ever exist is visible too.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import msgspec


class ExpectedState(enum.Enum):
    NO_STREAM = "no_stream"  # the stream must not exist yet
    ANY = "any"  # no check
    STREAM_EXISTS = "stream_exists"  # the stream must have at least one event


NO_STREAM = ExpectedState.NO_STREAM
ANY = ExpectedState.ANY
STREAM_EXISTS = ExpectedState.STREAM_EXISTS
ExpectedRevision = int | ExpectedState


class EventStoreError(Exception):
    pass


class WrongExpectedRevision(EventStoreError):
    def __init__(self, stream_id: str, expected: ExpectedRevision, actual: int | None) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual  # current last revision, None when the stream does not exist
        exp = expected.value if isinstance(expected, ExpectedState) else expected
        act = "no stream" if actual is None else actual
        super().__init__(f"stream {stream_id!r}: expected revision {exp}, actual {act}")


class DuplicateEventId(EventStoreError):
    """Some, not all, of the event ids of an append were already stored (or stored on
    another stream): the append is neither new nor a clean retry."""


class NewEvent(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    data: bytes
    version: int = 1
    metadata: Mapping[str, Any] = msgspec.field(default_factory=dict)
    event_id: uuid.UUID = msgspec.field(default_factory=uuid.uuid4)


class RecordedEvent(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    stream_id: str
    revision: int
    event_id: uuid.UUID
    type: str
    version: int
    data: bytes
    metadata: Mapping[str, Any]
    recorded_at: datetime


class AppendResult(msgspec.Struct, frozen=True):
    first_position: int
    last_position: int
    last_revision: int  # the stream's revision after the append


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    stream_id: str
    revision: int  # the last event folded into the snapshot
    type: str
    version: int
    data: bytes


class EventStore(Protocol):
    async def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_revision: ExpectedRevision
    ) -> AppendResult:
        """Atomically append `events`. Re-sending events whose ids are all stored already
        (same stream, same order) is a no-op returning the original positions."""
        ...

    async def read_stream(
        self, stream_id: str, from_revision: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]: ...

    async def stream_revision(self, stream_id: str) -> int | None:
        """The last revision of the stream, None if it does not exist."""
        ...

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """Events with position > after_position in position order, at most `limit`."""
        ...

    async def head_position(self) -> int:
        """The position of the last visible event (0 when the log is empty)."""
        ...

    def subscribe(self, after_position: int = 0, batch: int = 1000) -> AsyncIterator[RecordedEvent]:
        """Every event after `after_position`, then live ones, forever, in position order."""
        ...

    async def save_snapshot(self, snapshot: Snapshot) -> None: ...

    async def load_snapshot(self, stream_id: str) -> Snapshot | None: ...

    async def close(self) -> None: ...


def validate_expected(expected: ExpectedRevision) -> None:
    """Reject an argument that can never match (before it joins a batch)."""
    if isinstance(expected, int) and (isinstance(expected, bool) or expected < 0):
        raise ValueError(f"expected revision must be a revision >= 0 or a state, got {expected!r}")


def check_expected(stream_id: str, expected: ExpectedRevision, current: int | None) -> None:
    """Raise WrongExpectedRevision unless `current` (None: no stream) satisfies `expected`."""
    if expected is ExpectedState.ANY:
        return
    if expected is ExpectedState.NO_STREAM:
        ok = current is None
    elif expected is ExpectedState.STREAM_EXISTS:
        ok = current is not None
    else:
        ok = current == expected
    if not ok:
        raise WrongExpectedRevision(stream_id, expected, current)


def retry_result(
    stream_id: str, events: Sequence[NewEvent], known: Sequence[RecordedEvent | None]
) -> AppendResult | None:
    """Idempotency: None when no event id is stored yet; the original result when all are
    stored as one contiguous run on this stream; DuplicateEventId otherwise."""
    if all(k is None for k in known):
        return None
    stored = [k for k in known if k is not None]
    if len(stored) != len(events) or any(
        k.stream_id != stream_id or k.revision != stored[0].revision + i
        for i, k in enumerate(stored)
    ):
        raise DuplicateEventId(
            f"stream {stream_id!r}: some of these event ids are already stored differently"
        )
    return AppendResult(stored[0].position, stored[-1].position, stored[-1].revision)
