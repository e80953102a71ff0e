"""The session's state machine and its bounded outbox, on a fake socket and hub."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from backend.iam.principal import User
from backend.realtime import protocol
from backend.realtime.session import (
    EVENT_QUEUE_LIMIT,
    IllegalTransition,
    Session,
    SessionState,
    StateMachine,
    Subscription,
)


def test_the_state_machine_refuses_illegal_transitions() -> None:
    machine = StateMachine()
    assert machine.state is SessionState.CONNECTING
    machine.to(SessionState.OPEN)
    with pytest.raises(IllegalTransition):
        machine.to(SessionState.CONNECTING)
    machine.to(SessionState.CLOSING)
    with pytest.raises(IllegalTransition):
        machine.to(SessionState.OPEN)
    machine.to(SessionState.CLOSED)
    for state in SessionState:
        with pytest.raises(IllegalTransition):
            machine.to(state)


class _Hub:
    def __init__(self) -> None:
        self.left: list[int] = []

    def leave(self, session: Any, job: int) -> None:
        self.left.append(job)


class _BlockedSocket:
    """A client that never reads: every send waits forever."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.gate = asyncio.Event()

    async def send_text(self, text: str) -> None:
        await self.gate.wait()
        self.sent.append(text)


async def test_a_slow_consumer_is_resynced_instead_of_buffering_without_bound() -> None:
    ws, hub = _BlockedSocket(), _Hub()
    session = Session(ws, hub, User(id=1, username="slow"), True)  # type: ignore[arg-type]
    session.machine.to(SessionState.OPEN)
    for job in (1, 2):
        sub = Subscription(job)
        sub.revision = 10
        session.subs[job] = sub
    sender = asyncio.create_task(session._send_loop())
    await asyncio.sleep(0)
    for revision in range(11, 11 + EVENT_QUEUE_LIMIT * 3):
        session.deliver(1, revision, f'{{"revision": {revision}}}')
        assert len(session._out) <= EVENT_QUEUE_LIMIT + 2
    assert session.subs == {} and sorted(hub.left) == [1, 2]
    ws.gate.set()
    for _ in range(500):
        if not session._out:
            break
        await asyncio.sleep(0.01)
    sender.cancel()
    resyncs = [m for m in map(msgspec.json.decode, ws.sent) if m.get("type") == "resync"]
    assert sorted((m["job"], m["reason"]) for m in resyncs) == [(1, "overflow"), (2, "overflow")]
    assert all(m["revision"] >= 10 for m in resyncs)
    assert protocol.PROTOCOL_VERSION == 1
