"""Presence: throttled fan-out, and expiry of a process that vanished (heartbeat + TTL)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import httpx
import redis.asyncio as aioredis

from backend.realtime import protocol
from backend.realtime.client import RealtimeClient
from backend.realtime.presence import TTL_S
from tests.realtime.conftest import REDIS_DB, Pair, new_job


async def test_presence_is_throttled_and_the_latest_state_arrives(
    pair: Pair, admin_http: httpx.Client
) -> None:
    _, job = new_job(admin_http)
    async with (
        RealtimeClient(pair.ws(pair.a), basic=pair.a.admin) as watcher,
        RealtimeClient(pair.ws(pair.b), basic=pair.a.admin) as mover,
    ):
        view = await watcher.subscribe(job)
        await mover.subscribe(job)
        for x in range(40):
            await mover.presence(job, frame=1, cursor=[float(x), 0.0])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            states = list(view.presence.values())
            if states and states[0].cursor == [39.0, 0.0]:
                break
            await asyncio.sleep(0.02)
        assert [s.cursor for s in view.presence.values()] == [[39.0, 0.0]]
        received = 0
        while not watcher.inbox.empty():
            received += isinstance(watcher.inbox.get_nowait(), protocol.PresenceState)
        assert 1 <= received < 20  # throttled, yet the last state is never lost


async def test_presence_of_a_vanished_process_expires_within_seconds(
    pair: Pair, admin_http: httpx.Client, services: Any
) -> None:
    """A state published once and never refreshed (its process died) disappears."""
    _, job = new_job(admin_http)
    channel = "vellum:presence:" + hashlib.sha256(pair.a.database_url.encode()).hexdigest()[:16]
    ghost = protocol.PresenceState(job=job, session="ghost", frame=3,
                                   user=protocol.UserRef(id=999, username="ghost"))  # fmt: skip
    async with RealtimeClient(pair.ws(), basic=pair.a.admin) as watcher:
        view = await watcher.subscribe(job)
        redis = aioredis.Redis.from_url(f"{services.redis_url}?db={REDIS_DB}")
        try:
            await redis.publish(channel, protocol.encoder.encode(ghost))
        finally:
            await redis.aclose()
        seen = await watcher.next_message(protocol.PresenceState)
        assert seen.session == "ghost" and "ghost" in view.presence
        started = time.monotonic()
        left = await watcher.next_message(protocol.PresenceLeft, wait_s=TTL_S + 5)
        assert left.session == "ghost" and "ghost" not in view.presence
        assert time.monotonic() - started <= TTL_S + 2
