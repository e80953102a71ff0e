"""KurrentDB adapter without a server: the pure mapping helpers, and the whole shared
contract run through the adapter against `FakeKurrentDBClient`, an in-memory stand-in for
the few `AsyncKurrentDBClient` calls it makes (KurrentDB-like: sparse commit positions,
inclusive $all reads, exclusive subscriptions, system events in the log, the client's own
exclusion-regex builder). It checks the adapter's logic, not KurrentDB's behaviour."""

from __future__ import annotations

import asyncio
import re
import sys
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from kurrentdbclient import NewEvent as KNewEvent
from kurrentdbclient import RecordedEvent as KRecordedEvent
from kurrentdbclient import StreamState
from kurrentdbclient.common import construct_filter_exclude_regex
from kurrentdbclient.exceptions import NotFoundError, WrongCurrentVersionError

from backend.eventstore import kurrentdb as k
from backend.eventstore.kurrentdb import KurrentDBEventStore
from backend.eventstore.port import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    DuplicateEventId,
    EventStoreError,
    NewEvent,
    Snapshot,
    WrongExpectedRevision,
)

from .contract import EventStoreContract, ev, stream
from .test_kurrentdb import KurrentDBChecks

# -- pure helpers --------------------------------------------------------------------------


def recorded(stream_name: str = "job-1", type_: str = "Thing", **kw: Any) -> KRecordedEvent:
    fields: dict[str, Any] = {
        "type": type_,
        "data": b"{}",
        "metadata": b"",
        "content_type": "application/octet-stream",
        "id": uuid.uuid4(),
        "stream_name": stream_name,
        "stream_position": 0,
        "commit_position": 1000,
        "prepare_position": 1000,
        "recorded_at": datetime(2024, 1, 2, tzinfo=UTC),
    }
    fields.update(kw)
    return KRecordedEvent(**fields)


def test_expected_revision_maps_to_client_stream_states():
    assert k.to_stream_state(NO_STREAM) is StreamState.NO_STREAM
    assert k.to_stream_state(ANY) is StreamState.ANY
    assert k.to_stream_state(STREAM_EXISTS) is StreamState.EXISTS
    assert k.to_stream_state(0) == 0
    assert k.to_stream_state(41) == 41
    for bad in (-1, True, "3"):
        with pytest.raises(ValueError):
            k.to_stream_state(bad)  # type: ignore[arg-type]


def test_wrong_current_version_maps_to_wrong_expected_revision():
    missing = WrongCurrentVersionError(
        "x", stream_name="job-1", actual_version=StreamState.NO_STREAM, expected_version=0
    )
    err = k.wrong_expected_revision("job-1", 0, missing)
    assert isinstance(err, WrongExpectedRevision)
    assert (err.stream_id, err.expected, err.actual) == ("job-1", 0, None)
    stale = WrongCurrentVersionError("x", actual_version=4, expected_version=StreamState.NO_STREAM)
    err = k.wrong_expected_revision("job-1", NO_STREAM, stale)
    assert (err.expected, err.actual) == (NO_STREAM, 4)
    # the client maps the wire's -1 to NO_STREAM itself
    assert WrongCurrentVersionError("x", actual_version=-1).actual_version is StreamState.NO_STREAM
    assert k.actual_revision(None) is None


def test_metadata_carries_the_version_under_a_reserved_key():
    raw = k.wrap_metadata({"actor": 7, "source": "api"}, 3)
    assert b'"$v":3' in raw
    assert k.unwrap_metadata(raw) == ({"actor": 7, "source": "api"}, 3)
    assert k.unwrap_metadata(k.wrap_metadata({}, 1)) == ({}, 1)
    with pytest.raises(ValueError, match="reserved"):
        k.wrap_metadata({"$v": 2}, 1)
    # events written by other tools
    assert k.unwrap_metadata(b"") == ({}, 1)
    assert k.unwrap_metadata(b"not json") == ({}, 1)
    assert k.unwrap_metadata(b"[1, 2]") == ({}, 1)
    with pytest.raises(EventStoreError):
        k.unwrap_metadata(b'{"$v": "two"}')


def test_recorded_event_mapping():
    event_id = uuid.uuid4()
    raw = recorded(
        id=event_id,
        stream_position=4,
        commit_position=123456,
        data=b"\x00\x01",
        metadata=k.wrap_metadata({"actor": 1}, 2),
    )
    rec = k.to_recorded(raw)
    assert (rec.position, rec.stream_id, rec.revision, rec.event_id) == (
        123456,
        "job-1",
        4,
        event_id,
    )
    assert (rec.type, rec.version, rec.data, rec.metadata) == (
        "Thing",
        2,
        b"\x00\x01",
        {"actor": 1},
    )
    assert rec.recorded_at == datetime(2024, 1, 2, tzinfo=UTC)
    assert k.to_recorded(recorded(recorded_at=None)).recorded_at.year == 1970


def test_new_event_mapping():
    ours = NewEvent(type="ShapesCreated", data=b"\x93", version=2, metadata={"actor": 5})
    theirs = k.to_new_event(ours)
    assert (theirs.type, theirs.data, theirs.id) == ("ShapesCreated", b"\x93", ours.event_id)
    assert theirs.content_type == "application/octet-stream"
    assert k.unwrap_metadata(theirs.metadata) == ({"actor": 5}, 2)


def test_system_and_bookkeeping_events_are_not_user_events():
    assert k.is_user_event(recorded("job-1"))
    assert not k.is_user_event(recorded("$stats-127.0.0.1:2113", "$statsCollected"))
    assert not k.is_user_event(recorded("$$job-1", "$metadata"))
    assert not k.is_user_event(recorded("job-1", "$>"))  # a link
    assert not k.is_user_event(recorded("job-1", "$streamDeleted"))
    assert not k.is_user_event(recorded(k.snapshot_stream("job-1")))
    assert not k.is_user_event(recorded(k.claim_stream(uuid.uuid4()), k.CLAIM_TYPE))
    assert not k.is_user_event(recorded("PersistentConfig-x", "$PersistentConfig1"))


def test_server_side_exclusion_regex_keeps_only_user_streams():
    regex = re.compile(construct_filter_exclude_regex(k.EXCLUDED_STREAMS))
    for name in ("job-1", "project-12", "webhook-3", "task-snapshot-1"):
        assert regex.match(name), name
    for name in ("$all", "$$job-1", "$stats-x", "snapshot-job-1", f"eventid-{uuid.uuid4()}"):
        assert not regex.match(name), name


def test_snapshot_mapping_round_trip():
    raw = recorded(
        "snapshot-job-1",
        "JobState",
        data=b"state",
        metadata=k._json.encode({k.VERSION_KEY: 3, k.SNAPSHOT_REVISION_KEY: 17}),
    )
    assert k.to_snapshot("job-1", raw) == Snapshot(
        stream_id="job-1", revision=17, type="JobState", version=3, data=b"state"
    )
    with pytest.raises(EventStoreError):
        k.to_snapshot("job-1", recorded(metadata=b"{}"))


# -- the contract through the adapter, against a fake client ------------------------------


class _Response:
    """What the client's reads return: an async iterator and async context manager."""

    def __init__(self, events: Iterable[KRecordedEvent], missing: str | None = None) -> None:
        self._events = iter(list(events))
        self._missing = missing
        self.stopped = False

    async def __aenter__(self) -> _Response:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.stop()

    def __aiter__(self) -> _Response:
        return self

    async def __anext__(self) -> KRecordedEvent:
        if self._missing is not None:
            raise NotFoundError(f"Stream {self._missing!r} not found")
        if self.stopped:
            raise StopAsyncIteration
        try:
            return next(self._events)
        except StopIteration:
            raise StopAsyncIteration from None

    async def stop(self, **_: object) -> None:
        self.stopped = True


class _Subscription(_Response):
    def __init__(self, client: FakeKurrentDBClient, after: int | None, regex: re.Pattern[str]):
        super().__init__(())
        self._client, self._after, self._regex = client, after, regex

    async def __anext__(self) -> KRecordedEvent:
        while not self.stopped:
            for event in self._client.log:
                if (self._after is None or event.commit_position > self._after) and (
                    self._regex.match(event.stream_name)
                ):
                    self._after = event.commit_position
                    return event
            async with self._client.changed:
                await self._client.changed.wait()
        raise StopAsyncIteration


class FakeKurrentDBClient:
    def __init__(self) -> None:
        self.log: list[KRecordedEvent] = []
        self.streams: dict[str, list[KRecordedEvent]] = {}
        self.changed = asyncio.Condition()
        self._position = 0
        self._record("$stats-127.0.0.1:2113", [KNewEvent(type="$statsCollected", data=b"{}")])

    def _record(self, stream_name: str, events: Sequence[KNewEvent]) -> int:
        target = self.streams.setdefault(stream_name, [])
        for event in events:
            self._position += 137 + len(event.data) % 50  # sparse, increasing
            rec = KRecordedEvent(
                type=event.type,
                data=event.data,
                metadata=event.metadata,
                content_type=event.content_type,
                id=event.id,
                stream_name=stream_name,
                stream_position=len(target),
                commit_position=self._position,
                prepare_position=self._position,
                recorded_at=datetime.now(UTC),
            )
            target.append(rec)
            self.log.append(rec)
        return self._position

    async def append_to_stream(
        self, stream_name: str, *, events: Sequence[KNewEvent], current_version: int | StreamState
    ) -> int:
        await asyncio.sleep(0)  # let concurrent appends interleave
        stream_ = self.streams.get(stream_name)
        last = len(stream_) - 1 if stream_ else None
        if current_version is StreamState.NO_STREAM:
            ok = last is None
        elif current_version is StreamState.EXISTS:
            ok = last is not None
        elif current_version is StreamState.ANY:
            ok = True
        else:
            ok = last == current_version
        if not ok:
            # KurrentDB's own idempotency: the same ids right after the expected version
            start = 0 if current_version is StreamState.NO_STREAM else None
            if isinstance(current_version, int):
                start = current_version + 1
            if stream_ and start is not None:
                ids = [e.id for e in stream_[start : start + len(events)]]
                if ids == [e.id for e in events]:
                    return stream_[start + len(events) - 1].commit_position
            raise WrongCurrentVersionError(
                "wrong version",
                stream_name=stream_name,
                actual_version=StreamState.NO_STREAM if last is None else last,
                expected_version=current_version,
            )
        position = self._record(stream_name, list(events))
        async with self.changed:
            self.changed.notify_all()
        return position

    async def read_stream(
        self,
        stream_name: str,
        *,
        stream_position: int | None = None,
        backwards: bool = False,
        limit: int = sys.maxsize,
    ) -> _Response:
        await asyncio.sleep(0)
        events = self.streams.get(stream_name)
        if not events:
            return _Response((), missing=stream_name)
        if backwards:
            end = len(events) if stream_position is None else stream_position + 1
            selected = list(reversed(events[:end]))
        else:
            selected = events[stream_position or 0 :]
        return _Response(selected[:limit])

    async def get_current_version(self, stream_name: str) -> int | StreamState:
        events = self.streams.get(stream_name)
        return len(events) - 1 if events else StreamState.NO_STREAM

    async def read_all(
        self,
        *,
        commit_position: int | None = None,
        backwards: bool = False,
        filter_exclude: Sequence[str] = (),
        filter_by_stream_name: bool = False,
        limit: int = sys.maxsize,
    ) -> _Response:
        assert filter_by_stream_name
        regex = re.compile(construct_filter_exclude_regex(filter_exclude))
        events = [e for e in self.log if regex.match(e.stream_name)]
        if backwards:
            assert commit_position is None
            events.reverse()
        elif commit_position is not None:  # inclusive, as KurrentDB reads are
            events = [e for e in events if e.commit_position >= commit_position]
        return _Response(events[:limit])

    async def subscribe_to_all(
        self,
        *,
        commit_position: int | None = None,
        filter_exclude: Sequence[str] = (),
        filter_by_stream_name: bool = False,
    ) -> _Subscription:
        assert filter_by_stream_name
        regex = re.compile(construct_filter_exclude_regex(filter_exclude))
        return _Subscription(self, commit_position, regex)

    async def close(self) -> None:
        return None


class TestKurrentDBAdapterOnFakeClient(KurrentDBChecks, EventStoreContract):
    @pytest.fixture
    def client(self) -> FakeKurrentDBClient:
        return FakeKurrentDBClient()

    @pytest.fixture
    async def store(self, client: FakeKurrentDBClient) -> AsyncIterator[KurrentDBEventStore]:
        s = KurrentDBEventStore(cast(Any, client))
        yield s
        await s.close()

    async def test_version_and_metadata_round_trip(self, store: KurrentDBEventStore):
        s = stream()
        event = NewEvent(type="T", data=b"x", version=4, metadata={"actor": 2, "source": "api"})
        await store.append(s, [event], NO_STREAM)
        (rec,) = await store.read_stream(s)
        assert (rec.version, rec.metadata) == (4, {"actor": 2, "source": "api"})

    async def test_global_reads_hide_system_snapshot_and_claim_events(
        self, store: KurrentDBEventStore, client: FakeKurrentDBClient
    ):
        s = stream()
        await store.save_snapshot(Snapshot(stream_id=s, revision=0, type="T", version=1, data=b""))
        await store.append(s, [ev(1)], NO_STREAM)
        await client.append_to_stream(
            "$stats-x",
            events=[KNewEvent(type="$statsCollected", data=b"")],
            current_version=StreamState.ANY,
        )
        await client.append_to_stream(
            s, events=[KNewEvent(type="$>", data=b"0@x")], current_version=StreamState.ANY
        )
        events = await store.read_all(0, limit=10)
        assert [(e.stream_id, e.data) for e in events] == [(s, b'{"n":1}')]
        assert await store.head_position() == events[0].position
        assert await store.read_all(0, limit=1) == events  # paging skips the hidden ones

    async def test_reserved_streams_are_refused(self, store: KurrentDBEventStore):
        for name in ("", "$all", "snapshot-job-1", f"eventid-{uuid.uuid4()}"):
            with pytest.raises(ValueError):
                await store.append(name, [ev(1)], ANY)

    async def test_a_retry_after_a_failed_append_on_the_same_stream_goes_through(
        self, store: KurrentDBEventStore
    ):
        s = stream()
        await store.append(s, [ev(0)], NO_STREAM)
        batch = [ev(1), ev(2)]
        with pytest.raises(WrongExpectedRevision):
            await store.append(s, batch, 5)  # claims the ids, then fails
        result = await store.append(s, batch, 0)
        assert result.last_revision == 2
        assert await store.append(s, batch, 0) == result

    async def test_retry_in_another_order_is_rejected(self, store: KurrentDBEventStore):
        s = stream()
        a, b = ev(1), ev(2)
        await store.append(s, [a, b], NO_STREAM)
        with pytest.raises(DuplicateEventId):
            await store.append(s, [b, a], ANY)

    async def test_concurrent_snapshots_newest_wins(self, store: KurrentDBEventStore):
        s = stream()
        await asyncio.gather(
            *(
                store.save_snapshot(
                    Snapshot(stream_id=s, revision=r, type="T", version=1, data=b"%d" % r)
                )
                for r in (3, 9, 1, 7)
            )
        )
        snap = await store.load_snapshot(s)
        assert snap is not None and (snap.revision, snap.data) == (9, b"9")

    async def test_subscribe_skips_hidden_events_and_starts_after_the_position(
        self, store: KurrentDBEventStore
    ):
        s = stream()
        first = await store.append(s, [ev(1)], NO_STREAM)
        await store.save_snapshot(Snapshot(stream_id=s, revision=0, type="T", version=1, data=b""))
        await store.append(s, [ev(2)], 0)
        received = []
        async for event in store.subscribe(first.last_position):
            received.append(event.data)
            break
        assert received == [b'{"n":2}']
