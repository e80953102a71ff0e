"""KurrentDB (EventStoreDB) adapter of the EventStore port, on `kurrentdbclient`.

Client: `kurrentdbclient.AsyncKurrentDBClient` (native grpc.aio, so no thread executor).

Mapping:
- Streams are KurrentDB streams of the same name; revisions are KurrentDB stream positions.
- Positions are KurrentDB commit positions: large, non-contiguous, strictly increasing in
  log order, 0 = before everything. KurrentDB serialises writes through one log and only
  shows committed records, so a reader of $all never skips an event.
- `version` travels inside the event's JSON metadata under the reserved key "$v" and is
  stripped on read; `recorded_at` is the event's "created" time.
- Global reads (`read_all`, `head_position`, `subscribe`) see user events only: the server
  filters out `$`-prefixed streams and this adapter's bookkeeping streams
  (`snapshot-...`, `eventid-...`), and `$`-typed events (links, tombstones) are dropped here.
- Snapshots live in the stream `snapshot-{stream_id}`; the last event is the snapshot, and
  saving is a compare-and-set on that stream so the newest revision always wins.

Idempotency: KurrentDB has no global event-id index (it only de-duplicates a retry at the
same expected version of the same stream). To honour the contract - a clean retry returns
the original positions, a partial overlap or an id stored on another stream raises
DuplicateEventId - every event id is *claimed* in a stream `eventid-{uuid}` (one small
event naming the owning stream, appended with NO_STREAM) before the events are appended.
A claim and its append are two writes, not one transaction: an append that fails after
claiming leaves claims behind. A claim that points at *this* stream is only a hint (the
stream itself is searched for the ids), so retrying on the same stream always works; a
claim that points at another stream is authoritative, so re-using the ids of a failed
append on a different stream is (conservatively) rejected too.

Server settings: appends over KurrentDB's `MaxAppendSize` (1 MiB by default) are refused;
run the server with a larger one (e.g. KURRENTDB_MAX_APPEND_SIZE=16777216) for large
events. Reading $all needs a user allowed to read it (an admin, or an insecure node).
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
from kurrentdbclient import AsyncKurrentDBClient, StreamState
from kurrentdbclient import NewEvent as KNewEvent
from kurrentdbclient import RecordedEvent as KRecordedEvent
from kurrentdbclient.exceptions import (
    ConsumerTooSlowError,
    MaximumAppendSizeExceededError,
    NotFoundError,
    ServiceUnavailableError,
    WrongCurrentVersionError,
)

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
    retry_result,
    validate_expected,
)

VERSION_KEY = "$v"  # our event version, inside the KurrentDB metadata
SNAPSHOT_REVISION_KEY = "$revision"  # the revision a snapshot folds up to
SNAPSHOT_PREFIX = "snapshot-"
CLAIM_PREFIX = "eventid-"
CLAIM_TYPE = "EventIdClaimed"
# Stream-name regexes the server leaves out of every global read (anchored by the client).
EXCLUDED_STREAMS: tuple[str, ...] = (r"\$.*", f"{SNAPSHOT_PREFIX}.*", f"{CLAIM_PREFIX}.*")
_CLAIM_NAMESPACE = uuid.UUID("6f1f6d3e-4b0e-4d55-9c38-0d8a0c7b1e21")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OCTETS: Literal["application/octet-stream"] = "application/octet-stream"

_json = msgspec.json.Encoder()
_decode_object = msgspec.json.Decoder(dict[str, Any])


# -- pure mapping helpers (unit-tested without a server) ---------------------------------


def to_stream_state(expected: ExpectedRevision) -> int | StreamState:
    """Our expected revision -> the client's `current_version`."""
    if expected is ExpectedState.ANY:
        return StreamState.ANY
    if expected is ExpectedState.NO_STREAM:
        return StreamState.NO_STREAM
    if expected is ExpectedState.STREAM_EXISTS:
        return StreamState.EXISTS
    if isinstance(expected, bool) or not isinstance(expected, int) or expected < 0:
        raise ValueError(f"invalid expected revision {expected!r}")
    return expected


def actual_revision(actual: int | StreamState | None) -> int | None:
    """The client's current version (int, StreamState.NO_STREAM, ...) -> ours (None: no
    stream)."""
    return actual if isinstance(actual, int) and actual >= 0 else None


def wrong_expected_revision(
    stream_id: str, expected: ExpectedRevision, error: WrongCurrentVersionError
) -> WrongExpectedRevision:
    return WrongExpectedRevision(stream_id, expected, actual_revision(error.actual_version))


def wrap_metadata(metadata: Mapping[str, Any], version: int) -> bytes:
    """Our metadata + event version -> KurrentDB metadata bytes (a JSON object)."""
    if VERSION_KEY in metadata:
        raise ValueError(f"metadata key {VERSION_KEY!r} is reserved")
    return _json.encode({**metadata, VERSION_KEY: version})


def unwrap_metadata(raw: bytes) -> tuple[dict[str, Any], int]:
    """KurrentDB metadata bytes -> (our metadata, event version). Events written by other
    tools (no metadata, or not a JSON object) read as version 1 with empty metadata."""
    if not raw:
        return {}, 1
    try:
        metadata = _decode_object.decode(raw)
    except msgspec.DecodeError:
        return {}, 1
    version = metadata.pop(VERSION_KEY, 1)
    if isinstance(version, bool) or not isinstance(version, int):
        raise EventStoreError(f"event metadata has a non-integer {VERSION_KEY!r}: {version!r}")
    return metadata, version


def is_user_stream(stream_name: str) -> bool:
    return not stream_name.startswith(("$", SNAPSHOT_PREFIX, CLAIM_PREFIX))


def is_user_event(event: KRecordedEvent) -> bool:
    """A domain event: not a system event ($-type: links, tombstones, metadata, stats), not
    in a system stream, not this adapter's bookkeeping."""
    return not event.type.startswith("$") and is_user_stream(event.stream_name)


def snapshot_stream(stream_id: str) -> str:
    return f"{SNAPSHOT_PREFIX}{stream_id}"


def claim_stream(event_id: uuid.UUID) -> str:
    return f"{CLAIM_PREFIX}{event_id}"


def to_recorded(event: KRecordedEvent) -> RecordedEvent:
    metadata, version = unwrap_metadata(event.metadata)
    return RecordedEvent(
        position=event.commit_position,
        stream_id=event.stream_name,
        revision=event.stream_position,
        event_id=event.id,
        type=event.type,
        version=version,
        data=bytes(event.data),
        metadata=metadata,
        recorded_at=event.recorded_at or _EPOCH,
    )


def to_new_event(event: NewEvent) -> KNewEvent:
    # Data is msgspec-encoded (JSON or msgpack), so it is declared as opaque bytes.
    return KNewEvent(
        type=event.type,
        data=event.data,
        metadata=wrap_metadata(event.metadata, event.version),
        content_type=_OCTETS,
        id=event.event_id,
    )


def to_snapshot(stream_id: str, event: KRecordedEvent) -> Snapshot:
    metadata, version = unwrap_metadata(event.metadata)
    revision = metadata.get(SNAPSHOT_REVISION_KEY)
    if isinstance(revision, bool) or not isinstance(revision, int):
        raise EventStoreError(f"snapshot of {stream_id!r} has no revision in its metadata")
    return Snapshot(
        stream_id=stream_id,
        revision=revision,
        type=event.type,
        version=version,
        data=bytes(event.data),
    )


# -- the adapter -------------------------------------------------------------------------


class KurrentDBEventStore:
    def __init__(self, client: AsyncKurrentDBClient, *, owns_client: bool = True) -> None:
        self._client = client
        self._owns_client = owns_client

    @classmethod
    async def connect(cls, uri: str) -> KurrentDBEventStore:
        """E.g. "kurrentdb://admin:changeit@localhost:2113?tls=false"."""
        client = AsyncKurrentDBClient(uri)
        await client.connect()
        return cls(client)

    # -- writing -------------------------------------------------------------------------

    async def append(
        self, stream_id: str, events: Sequence[NewEvent], expected_revision: ExpectedRevision
    ) -> AppendResult:
        if not events:
            raise ValueError("append needs at least one event")
        if not stream_id or not is_user_stream(stream_id):
            raise ValueError(f"stream_id {stream_id!r} is empty or reserved")
        ids = [e.event_id for e in events]
        if len(set(ids)) != len(ids):
            raise DuplicateEventId(f"stream {stream_id!r}: the same event id twice in one append")
        validate_expected(expected_revision)
        current_version = to_stream_state(expected_revision)
        new_events = [to_new_event(e) for e in events]  # validates metadata before any write

        claims = await asyncio.gather(*(self._claim_of(i) for i in ids))
        if any(c is not None and c != stream_id for c in claims):
            raise DuplicateEventId(f"stream {stream_id!r}: an event id belongs to another stream")
        if any(c is not None for c in claims):
            # Claimed for this stream: a retry (or an earlier append that failed after
            # claiming). The stream itself says which.
            found = await self._locate(
                stream_id, {i for i, c in zip(ids, claims, strict=True) if c}
            )
            retried = retry_result(stream_id, events, [found.get(i) for i in ids])
            if retried is not None:
                return retried
        await asyncio.gather(
            *(self._claim(stream_id, i) for i, c in zip(ids, claims, strict=True) if c is None)
        )

        try:
            await self._client.append_to_stream(
                stream_id, events=new_events, current_version=current_version
            )
        except WrongCurrentVersionError as e:
            raise wrong_expected_revision(stream_id, expected_revision, e) from e
        except MaximumAppendSizeExceededError as e:
            raise EventStoreError(
                f"stream {stream_id!r}: append exceeds the server's MaxAppendSize ({e})"
            ) from e

        # The client returns one commit position for the whole append; read the events
        # back for each one's position and revision (they sit at the end of the stream).
        found = await self._locate(stream_id, set(ids))
        if len(found) != len(ids):
            raise EventStoreError(f"stream {stream_id!r}: appended events not found on read")
        first, last = found[ids[0]], found[ids[-1]]
        return AppendResult(first.position, last.position, last.revision)

    async def _claim_of(self, event_id: uuid.UUID) -> str | None:
        """The stream that claimed `event_id`, None when unclaimed."""
        last = await self._last_event(claim_stream(event_id))
        if last is None:
            return None
        owner = _decode_object.decode(last.data).get("stream")
        if not isinstance(owner, str):
            raise EventStoreError(f"malformed claim of event id {event_id}")
        return owner

    async def _claim(self, stream_id: str, event_id: uuid.UUID) -> None:
        # The claim's own id is derived from (event id, stream): a concurrent claim of the
        # same id for the same stream is then an idempotent no-op in KurrentDB, and one for
        # another stream fails the NO_STREAM check.
        claim = KNewEvent(
            type=CLAIM_TYPE,
            data=_json.encode({"stream": stream_id}),
            id=uuid.uuid5(_CLAIM_NAMESPACE, f"{event_id}:{stream_id}"),
        )
        try:
            await self._client.append_to_stream(
                claim_stream(event_id), events=[claim], current_version=StreamState.NO_STREAM
            )
        except WrongCurrentVersionError:
            if await self._claim_of(event_id) != stream_id:
                raise DuplicateEventId(
                    f"stream {stream_id!r}: event id {event_id} belongs to another stream"
                ) from None

    async def _locate(
        self, stream_id: str, wanted: set[uuid.UUID]
    ) -> dict[uuid.UUID, RecordedEvent]:
        """Find events by id in a stream, scanning back from its end (where recent appends
        and retries are) until all are found or the stream's start is reached."""
        found: dict[uuid.UUID, RecordedEvent] = {}
        if not wanted:
            return found
        try:
            async with await self._client.read_stream(stream_id, backwards=True) as events:
                async for event in events:
                    if event.id in wanted and event.id not in found:
                        found[event.id] = to_recorded(event)
                        if len(found) == len(wanted):
                            break
        except NotFoundError:
            pass
        return found

    # -- reading -------------------------------------------------------------------------

    async def read_stream(
        self, stream_id: str, from_revision: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        if limit is not None and limit <= 0:
            return []
        try:
            async with await self._client.read_stream(
                stream_id,
                stream_position=from_revision,
                limit=sys.maxsize if limit is None else limit,
            ) as events:
                return [to_recorded(e) async for e in events]
        except NotFoundError:
            return []

    async def stream_revision(self, stream_id: str) -> int | None:
        return actual_revision(await self._client.get_current_version(stream_id))

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        out: list[RecordedEvent] = []
        cursor = after_position
        while len(out) < limit:
            # +1: whether a read from a position includes that position's event is the
            # server's business; events at or before the cursor are dropped here.
            want = limit - len(out) + 1
            page = await self._read_all_page(cursor, want)
            fresh = [e for e in page if e.commit_position > cursor]
            for event in fresh:
                cursor = event.commit_position
                if is_user_event(event):
                    out.append(to_recorded(event))
                    if len(out) == limit:
                        break
            if not fresh or len(page) < want:
                break
        return out

    async def _read_all_page(self, after_position: int, limit: int) -> list[KRecordedEvent]:
        async with await self._client.read_all(
            commit_position=after_position or None,
            filter_exclude=EXCLUDED_STREAMS,
            filter_by_stream_name=True,
            limit=limit,
        ) as events:
            return [e async for e in events]

    async def head_position(self) -> int:
        async with await self._client.read_all(
            backwards=True,
            filter_exclude=EXCLUDED_STREAMS,
            filter_by_stream_name=True,
        ) as events:
            async for event in events:
                if is_user_event(event):
                    return event.commit_position
        return 0

    async def subscribe(
        self, after_position: int = 0, batch: int = 1000
    ) -> AsyncIterator[RecordedEvent]:
        """A catch-up subscription to $all (server-filtered as for `read_all`); `batch` is
        unused, the server streams. A dropped subscription (server restart, consumer too
        slow) is resumed from the last position delivered."""
        position = after_position
        while True:
            subscription = await self._client.subscribe_to_all(
                commit_position=position or None,
                filter_exclude=EXCLUDED_STREAMS,
                filter_by_stream_name=True,
            )
            try:
                async for event in subscription:
                    if event.commit_position <= position:
                        continue
                    position = event.commit_position
                    if is_user_event(event):
                        yield to_recorded(event)
            except (ServiceUnavailableError, ConsumerTooSlowError):
                pass
            finally:
                await subscription.stop()
            await asyncio.sleep(0.5)

    # -- snapshots -----------------------------------------------------------------------

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        stream = snapshot_stream(snapshot.stream_id)
        event = KNewEvent(
            type=snapshot.type,
            data=snapshot.data,
            metadata=_json.encode(
                {VERSION_KEY: snapshot.version, SNAPSHOT_REVISION_KEY: snapshot.revision}
            ),
            content_type=_OCTETS,
        )
        while True:  # compare-and-set on the snapshot stream: the newest revision wins
            last = await self._last_event(stream)
            if (
                last is not None
                and to_snapshot(snapshot.stream_id, last).revision > snapshot.revision
            ):
                return
            current = StreamState.NO_STREAM if last is None else last.stream_position
            try:
                await self._client.append_to_stream(stream, events=[event], current_version=current)
                return
            except WrongCurrentVersionError:
                continue

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        last = await self._last_event(snapshot_stream(stream_id))
        return None if last is None else to_snapshot(stream_id, last)

    async def _last_event(self, stream: str) -> KRecordedEvent | None:
        try:
            async with await self._client.read_stream(stream, backwards=True, limit=1) as events:
                async for event in events:
                    return event
        except NotFoundError:
            pass
        return None

    async def close(self) -> None:
        if self._owns_client:
            await self._client.close()


__all__ = ["KurrentDBEventStore"]
