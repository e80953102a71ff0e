from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from backend.eventstore.postgres import PostgresEventStore

from .contract import EventStoreContract


class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture
    async def store(self, pool) -> AsyncIterator[PostgresEventStore]:
        s = PostgresEventStore(pool)
        yield s
        await s.close()
