from __future__ import annotations

import pytest

from backend.eventstore.memory import MemoryEventStore

from .contract import EventStoreContract


class TestMemoryEventStore(EventStoreContract):
    @pytest.fixture
    def store(self) -> MemoryEventStore:
        return MemoryEventStore()
