"""The shared contract against a real KurrentDB server (set VELLUM_KURRENTDB_URL, e.g.
"kurrentdb://admin:changeit@localhost:2113?tls=false"; the server needs a MaxAppendSize
above 5 MB for the large-event test, e.g. KURRENTDB_MAX_APPEND_SIZE=16777216). Streams
have random names, so a shared server is fine."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from backend.eventstore.kurrentdb import KurrentDBEventStore
from backend.eventstore.port import NO_STREAM, EventStore

from .contract import EventStoreContract, ev, stream

KURRENTDB_URL = os.environ.get("VELLUM_KURRENTDB_URL", "")

pytestmark = pytest.mark.skipif(
    not KURRENTDB_URL, reason="VELLUM_KURRENTDB_URL is not set (no KurrentDB server here)"
)


class KurrentDBPositions:
    """KurrentDB commit positions are strictly increasing but not contiguous, so the
    contract's `last_position - first_position == n - 1` does not hold: check order."""

    async def test_append_to_new_stream_assigns_revisions_from_zero(self, store: EventStore):
        s = stream()
        result = await store.append(s, [ev(1), ev(2), ev(3)], NO_STREAM)
        assert result.last_revision == 2
        events = await store.read_stream(s)
        assert [e.revision for e in events] == [0, 1, 2]
        positions = [e.position for e in events]
        assert positions == sorted(set(positions))
        assert (result.first_position, result.last_position) == (positions[0], positions[-1])
        assert [e.data for e in events] == [b'{"n":1}', b'{"n":2}', b'{"n":3}']
        assert events[0].metadata == {"actor": 1}  # the reserved "$v" is stripped
        assert events[0].version == 1
        assert await store.stream_revision(s) == 2


class TestKurrentDBEventStore(KurrentDBPositions, EventStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[KurrentDBEventStore]:
        s = await KurrentDBEventStore.connect(KURRENTDB_URL)
        yield s
        await s.close()
