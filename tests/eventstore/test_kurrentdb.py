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


class KurrentDBChecks:
    """Beyond the contract: our event version travels in the metadata as "$v"."""

    async def test_version_key_is_hidden_from_metadata(self, store: EventStore):
        s = stream()
        await store.append(s, [ev(1)], NO_STREAM)
        (event,) = await store.read_stream(s)
        assert event.metadata == {"actor": 1}
        assert event.version == 1


class TestKurrentDBEventStore(KurrentDBChecks, EventStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[KurrentDBEventStore]:
        s = await KurrentDBEventStore.connect(KURRENTDB_URL)
        yield s
        await s.close()
