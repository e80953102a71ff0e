"""Presence: who is in a job, on which frame, what is selected, where the cursor is.

Ephemeral, never an event: every process publishes its sessions' presence on one Redis
pub/sub channel (per database, so servers of other databases on the same Redis do not mix)
and keeps what it hears in memory with a deadline. A session's state is re-published every
HEARTBEAT_S while it is connected; a state not heard of for TTL_S expires (a server that
died, a dropped network), and a clean disconnect or unsubscribe publishes `presence_left`
at once. Updates are throttled per session and job (leading edge, plus the latest state at
the end of the interval).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from typing import TYPE_CHECKING

import msgspec
import redis.asyncio as aioredis
import structlog

from backend.realtime import protocol
from backend.realtime.protocol import encoder

if TYPE_CHECKING:
    from backend.realtime.hub import Hub
    from backend.realtime.session import Session

log = structlog.get_logger(__name__)

THROTTLE_S = 0.05
HEARTBEAT_S = 1.0
TTL_S = 3.0

_wire = msgspec.json.Decoder(protocol.PresenceState | protocol.PresenceLeft)


class Presence:
    def __init__(self, hub: Hub, redis: aioredis.Redis, database_url: str) -> None:
        self.hub = hub
        self.redis = redis
        digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
        self.channel = f"vellum:presence:{digest}"
        # Everything heard (this process's sessions included): job -> session -> (state, deadline)
        self.known: dict[int, dict[str, tuple[protocol.PresenceState, float]]] = {}
        # This process's sessions: (job, session id) -> latest state, last publish time
        self.local: dict[tuple[int, str], protocol.PresenceState] = {}
        self._last: dict[tuple[int, str], float] = {}
        self._pending: dict[tuple[int, str], asyncio.TimerHandle] = {}

    def start(self) -> list[asyncio.Task[None]]:
        return [
            asyncio.create_task(self._listen(), name="presence-listen"),
            asyncio.create_task(self._heartbeat(), name="presence-heartbeat"),
        ]

    # --- from sessions ----------------------------------------------------------------------

    def update(self, session: Session, message: protocol.PresenceUpdate) -> None:
        key = (message.job, session.id)
        state = protocol.PresenceState(
            job=message.job, session=session.id, user=session.user_ref, frame=message.frame,
            selection=message.selection, cursor=message.cursor,
        )  # fmt: skip
        self.local[key] = state
        now = time.monotonic()
        wait = self._last.get(key, 0.0) + THROTTLE_S - now
        if wait <= 0:
            self._last[key] = now
            self._publish(state)
        elif key not in self._pending:
            self._pending[key] = asyncio.get_running_loop().call_later(wait, self._flush, key)

    def _flush(self, key: tuple[int, str]) -> None:
        self._pending.pop(key, None)
        state = self.local.get(key)
        if state is not None:
            self._last[key] = time.monotonic()
            self._publish(state)

    def leave(self, session: Session, job: int) -> None:
        key = (job, session.id)
        timer = self._pending.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._last.pop(key, None)
        if self.local.pop(key, None) is not None:
            self._publish(protocol.PresenceLeft(job=job, session=session.id, user=session.user_ref))

    def current(self, job: int, exclude: str) -> list[str]:
        now = time.monotonic()
        return [
            encoder.encode(state).decode()
            for sid, (state, deadline) in self.known.get(job, {}).items()
            if sid != exclude and deadline > now
        ]

    # --- redis ------------------------------------------------------------------------------

    def _publish(self, message: protocol.PresenceState | protocol.PresenceLeft) -> None:
        task = asyncio.get_running_loop().create_task(self._send(encoder.encode(message)))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _send(self, payload: bytes) -> None:
        try:
            await self.redis.publish(self.channel, payload)
        except Exception as exc:  # presence is best effort; the heartbeat repeats it
            log.warning("presence publish failed", error=str(exc))

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            for state in list(self.local.values()):
                self._publish(state)
            self._expire()

    def _expire(self) -> None:
        now = time.monotonic()
        for job, states in list(self.known.items()):
            for sid, (state, deadline) in list(states.items()):
                if deadline <= now:
                    del states[sid]
                    left = protocol.PresenceLeft(job=job, session=sid, user=state.user)
                    self._fan_out(job, sid, encoder.encode(left).decode())
            if not states:
                del self.known[job]

    async def _listen(self) -> None:
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                while True:
                    message = await pubsub.get_message(timeout=HEARTBEAT_S)
                    if message is not None and message.get("type") == "message":
                        self._heard(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("presence listener reconnects", error=str(exc))
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _heard(self, payload: bytes) -> None:
        try:
            message = _wire.decode(payload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return
        if isinstance(message, protocol.PresenceLeft):
            states = self.known.get(message.job, {})
            if states.pop(message.session, None) is None:
                return
            if not states:
                self.known.pop(message.job, None)
        else:
            states = self.known.setdefault(message.job, {})
            previous = states.get(message.session)
            states[message.session] = (message, time.monotonic() + TTL_S)
            if previous is not None and previous[0] == message:
                return  # a heartbeat: nothing new to tell
        self._fan_out(message.job, message.session, payload.decode())

    def _fan_out(self, job: int, origin: str, text: str) -> None:
        for session in list(self.hub.sessions(job)):
            if session.id != origin:
                session.send_presence(text)
