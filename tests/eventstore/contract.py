"""The one contract every EventStore adapter must satisfy (memory, Postgres, KurrentDB).
Subclass `EventStoreContract` and provide a `store` fixture yielding a fresh, empty store."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from backend.eventstore.port import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    DuplicateEventId,
    EventStore,
    NewEvent,
    Snapshot,
    WrongExpectedRevision,
)


def ev(n: int = 0, type_: str = "Thing", **meta: object) -> NewEvent:
    return NewEvent(type=type_, data=b'{"n":%d}' % n, metadata={"actor": 1, **meta})


def stream() -> str:
    return f"job-{uuid.uuid4().hex[:8]}"


class EventStoreContract:
    async def test_append_to_new_stream_assigns_revisions_from_zero(self, store: EventStore):
        s = stream()
        result = await store.append(s, [ev(1), ev(2), ev(3)], NO_STREAM)
        assert result.last_revision == 2
        events = await store.read_stream(s)
        assert [e.revision for e in events] == [0, 1, 2]
        # Positions strictly increase (contiguous in Postgres; sparse in KurrentDB).
        positions = [e.position for e in events]
        assert positions == sorted(set(positions))
        assert (positions[0], positions[-1]) == (result.first_position, result.last_position)
        assert [e.data for e in events] == [b'{"n":1}', b'{"n":2}', b'{"n":3}']
        assert events[0].metadata["actor"] == 1
        assert await store.stream_revision(s) == 2

    async def test_append_with_matching_expected_revision_succeeds(self, store: EventStore):
        s = stream()
        await store.append(s, [ev(1)], NO_STREAM)
        result = await store.append(s, [ev(2)], 0)
        assert result.last_revision == 1

    async def test_append_rejects_stale_expected_revision(self, store: EventStore):
        s = stream()
        await store.append(s, [ev(1), ev(2)], NO_STREAM)
        with pytest.raises(WrongExpectedRevision) as info:
            await store.append(s, [ev(3), ev(4)], 0)
        assert info.value.actual == 1
        assert len(await store.read_stream(s)) == 2  # nothing appended

    async def test_no_stream_rejects_existing_stream(self, store: EventStore):
        s = stream()
        await store.append(s, [ev(1)], NO_STREAM)
        with pytest.raises(WrongExpectedRevision):
            await store.append(s, [ev(2)], NO_STREAM)

    async def test_stream_exists_rejects_missing_stream(self, store: EventStore):
        with pytest.raises(WrongExpectedRevision):
            await store.append(stream(), [ev(1)], STREAM_EXISTS)

    async def test_expected_revision_on_missing_stream_is_rejected(self, store: EventStore):
        with pytest.raises(WrongExpectedRevision) as info:
            await store.append(stream(), [ev(1)], 0)
        assert info.value.actual is None

    async def test_any_skips_the_check(self, store: EventStore):
        s = stream()
        await store.append(s, [ev(1)], ANY)
        result = await store.append(s, [ev(2)], ANY)
        assert result.last_revision == 1

    async def test_append_is_idempotent_by_event_id(self, store: EventStore):
        s = stream()
        batch = [ev(1), ev(2)]
        first = await store.append(s, batch, NO_STREAM)
        await store.append(s, [ev(3)], 1)
        again = await store.append(s, batch, NO_STREAM)  # a retry: stale expectation is fine
        assert again == first
        assert len(await store.read_stream(s)) == 3

    async def test_a_single_event_retry_returns_its_original_position(self, store: EventStore):
        s = stream()
        once = ev(1)
        first = await store.append(s, [once], NO_STREAM)
        await store.append(s, [ev(2)], 0)
        assert await store.append(s, [once], NO_STREAM) == first  # stale expectation: fine
        assert await store.append(s, [once], ANY) == first
        assert len(await store.read_stream(s)) == 2

    async def test_partly_known_event_ids_are_rejected(self, store: EventStore):
        s = stream()
        known = ev(1)
        await store.append(s, [known], NO_STREAM)
        with pytest.raises(DuplicateEventId):
            await store.append(s, [known, ev(2)], ANY)
        assert len(await store.read_stream(s)) == 1

    async def test_retry_in_another_order_is_rejected(self, store: EventStore):
        s = stream()
        a, b, c = ev(1), ev(2), ev(3)
        await store.append(s, [a, b, c], NO_STREAM)
        with pytest.raises(DuplicateEventId):
            await store.append(s, [a, c, b], NO_STREAM)
        assert len(await store.read_stream(s)) == 3

    async def test_negative_expected_revision_is_refused(self, store: EventStore):
        with pytest.raises(ValueError):
            await store.append(stream(), [ev(1)], -5)

    async def test_known_event_id_on_another_stream_is_rejected(self, store: EventStore):
        known = ev(1)
        await store.append(stream(), [known], NO_STREAM)
        with pytest.raises(DuplicateEventId):
            await store.append(stream(), [known], ANY)

    async def test_concurrent_appends_with_one_expectation_have_one_winner(self, store: EventStore):
        s = stream()
        results = await asyncio.gather(
            *(store.append(s, [ev(i)], NO_STREAM) for i in range(10)), return_exceptions=True
        )
        winners = [r for r in results if not isinstance(r, BaseException)]
        losers = [r for r in results if isinstance(r, WrongExpectedRevision)]
        assert len(winners) == 1 and len(losers) == 9
        assert len(await store.read_stream(s)) == 1

    async def test_a_failing_append_does_not_fail_its_concurrent_neighbours(
        self, store: EventStore
    ):
        good = [stream() for _ in range(8)]
        bad = stream()
        await store.append(bad, [ev(0)], NO_STREAM)
        calls = [store.append(s, [ev(1), ev(2)], NO_STREAM) for s in good]
        calls.insert(4, store.append(bad, [ev(9)], 5))
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert isinstance(results[4], WrongExpectedRevision)
        assert all(not isinstance(r, BaseException) for i, r in enumerate(results) if i != 4)
        for s in good:
            assert len(await store.read_stream(s)) == 2

    async def test_concurrent_appends_to_one_stream_keep_revisions_dense(self, store: EventStore):
        s = stream()
        await asyncio.gather(*(store.append(s, [ev(i), ev(i)], ANY) for i in range(20)))
        events = await store.read_stream(s)
        assert [e.revision for e in events] == list(range(40))
        positions = [e.position for e in events]
        assert positions == sorted(positions)

    async def test_read_stream_from_revision_with_limit(self, store: EventStore):
        s = stream()
        await store.append(s, [ev(i) for i in range(10)], NO_STREAM)
        events = await store.read_stream(s, from_revision=4, limit=3)
        assert [e.revision for e in events] == [4, 5, 6]
        assert await store.read_stream(stream()) == []
        assert await store.stream_revision(stream()) is None

    async def test_read_all_returns_every_stream_in_position_order(self, store: EventStore):
        start = await store.head_position()
        a, b = stream(), stream()
        await store.append(a, [ev(1)], NO_STREAM)
        await store.append(b, [ev(2), ev(3)], NO_STREAM)
        await store.append(a, [ev(4)], 0)
        events = await store.read_all(start, limit=100)
        assert [(e.stream_id, e.data) for e in events] == [
            (a, b'{"n":1}'), (b, b'{"n":2}'), (b, b'{"n":3}'), (a, b'{"n":4}')
        ]  # fmt: skip
        positions = [e.position for e in events]
        assert positions == sorted(set(positions))
        assert await store.head_position() == positions[-1]
        page = await store.read_all(positions[0], limit=2)
        assert [e.position for e in page] == positions[1:3]

    async def test_subscribe_delivers_history_then_live_events(self, store: EventStore):
        start = await store.head_position()
        s = stream()
        await store.append(s, [ev(1), ev(2)], NO_STREAM)
        received: list[bytes] = []

        async def consume() -> None:
            async for event in store.subscribe(start):
                received.append(event.data)
                if len(received) == 4:
                    return

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        await store.append(s, [ev(3), ev(4)], 1)
        await asyncio.wait_for(task, 10)
        assert received == [b'{"n":1}', b'{"n":2}', b'{"n":3}', b'{"n":4}']

    async def test_snapshot_round_trip_and_newest_wins(self, store: EventStore):
        s = stream()
        assert await store.load_snapshot(s) is None
        await store.save_snapshot(Snapshot(stream_id=s, revision=5, type="T", version=1, data=b"5"))
        await store.save_snapshot(Snapshot(stream_id=s, revision=3, type="T", version=1, data=b"3"))
        snap = await store.load_snapshot(s)
        assert snap is not None and snap.revision == 5 and snap.data == b"5"

    async def test_same_ids_twice_in_one_concurrent_batch_append_once(self, store: EventStore):
        s = stream()
        batch = [ev(1), ev(2)]
        first, second = await asyncio.gather(
            store.append(s, batch, NO_STREAM), store.append(s, batch, NO_STREAM)
        )
        assert first == second
        assert len(await store.read_stream(s)) == 2

    async def test_large_event_round_trips(self, store: EventStore):
        s = stream()
        payload = bytes(range(256)) * 20_000  # ~5 MB, every byte value
        await store.append(s, [NewEvent(type="Big", data=payload)], NO_STREAM)
        (event,) = await store.read_stream(s)
        assert event.data == payload
