"""One websocket connection: an explicit state machine, its subscriptions, and the one
task that writes to the socket.

Everything the server sends goes through the session's outbox and its sender task, so the
order on the wire is the order of the outbox: catch-up (snapshot or missed events) first,
then live events, each subscription in revision order. Events are deduplicated and gaps
filled from the event store by revision, so whatever order the hub and a catch-up race in,
a subscriber sees every revision once. The outbox is bounded: a consumer that falls too
far behind loses its queued events and gets `resync` for each subscription (then it
subscribes again from its revision) instead of growing the server's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import secrets
import time
from collections import deque
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect

from backend.api import access
from backend.api.errors import ApiError, from_msgspec
from backend.api.json_text import unstorable
from backend.domain.commands import Command
from backend.domain.errors import Conflict, DomainError, NotFound, ValidationError
from backend.domain.events import decode_job_event
from backend.domain.labels import LabelSet
from backend.iam.principal import User
from backend.realtime import commands, protocol
from backend.realtime.metrics import CONNECTIONS, OPS, RESYNCS
from backend.realtime.protocol import (
    CLIENT_TYPES,
    CLOSE_REASONS,
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    CloseCode,
    encoder,
)
from backend.services import undo
from backend.services.job_annotations import EventMetadata, Outcome, job_stream

if TYPE_CHECKING:
    from backend.realtime.hub import Hub

log = structlog.get_logger(__name__)

# Events queued for one connection before it is declared slow (resync).
EVENT_QUEUE_LIMIT = 1000
# Replies (acks, errors, presence...) queued before a client that never reads is closed.
CONTROL_QUEUE_LIMIT = 2000
# A subscriber further behind than this gets a snapshot instead of the missed events.
CATCH_UP_LIMIT = 5000
HELLO_TIMEOUT_S = 10.0
# How long a permission check of ops on a job is trusted.
PERMISSION_TTL_S = 30.0
ACL_SETTLE_S = 2.0
_EXECUTE_ROUNDS = 3
READ_ONLY_CREDENTIALS = "these credentials are read-only (read-only token)"


def _about_labels(error: DomainError) -> bool:
    field = error.field or ""
    return isinstance(error, ValidationError) and ("label_id" in field or "attributes" in field)


class SessionState(enum.Enum):
    CONNECTING = "connecting"  # accepted and authenticated; waiting for hello
    OPEN = "open"  # hello answered: subscriptions, ops, presence
    CLOSING = "closing"  # the server is closing the socket
    CLOSED = "closed"


_TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    SessionState.CONNECTING: frozenset(
        {SessionState.OPEN, SessionState.CLOSING, SessionState.CLOSED}
    ),
    SessionState.OPEN: frozenset({SessionState.CLOSING, SessionState.CLOSED}),
    SessionState.CLOSING: frozenset({SessionState.CLOSED}),
    SessionState.CLOSED: frozenset(),
}


class IllegalTransition(RuntimeError):
    pass


class StateMachine:
    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = SessionState.CONNECTING

    def to(self, new: SessionState) -> None:
        if new not in _TRANSITIONS[self.state]:
            raise IllegalTransition(f"{self.state.value} -> {new.value}")
        self.state = new


class Subscription:
    """One job followed by one session. `revision` is the last revision sent (None until
    the catch-up ran)."""

    __slots__ = ("can_write", "job", "read_only_reason", "revision")

    def __init__(self, job: int) -> None:
        self.job = job
        self.revision: int | None = None
        self.can_write = True
        self.read_only_reason: str | None = None


# Outbox items: ("msg", text) | ("event", sub, revision, text) | ("catchup", sub, since)
Item = tuple[Any, ...]


class Session:
    def __init__(
        self, ws: WebSocket, hub: Hub, user: User, can_write: bool,
        *, event_queue_limit: int = EVENT_QUEUE_LIMIT,
    ) -> None:  # fmt: skip
        self.id = secrets.token_hex(6)
        self.ws = ws
        self.hub = hub
        self.user = user
        self.user_ref = protocol.UserRef(id=user.id, username=user.username)
        self.can_write = can_write
        self.machine = StateMachine()
        self.subs: dict[int, Subscription] = {}
        self._out: deque[Item] = deque()
        self._events_queued = 0
        self._event_queue_limit = event_queue_limit
        self._wake = asyncio.Event()
        self._write_checked: dict[int, tuple[float, int]] = {}

    # --- outbox ---------------------------------------------------------------------------

    def send(self, message: Any) -> None:
        """Queue a reply; a client that lets replies pile up is closed."""
        if self.machine.state in (SessionState.CLOSING, SessionState.CLOSED):
            return
        if len(self._out) - self._events_queued >= CONTROL_QUEUE_LIMIT:
            self._abort(CloseCode.TOO_SLOW)
            return
        self._out.append(("msg", encoder.encode(message).decode()))
        self._wake.set()

    def send_presence(self, text: str) -> None:
        """Presence is ephemeral: dropped, not queued, when the client is behind."""
        behind = len(self._out) >= self._event_queue_limit // 2
        if self.machine.state is SessionState.OPEN and not behind:
            self._out.append(("msg", text))
            self._wake.set()

    def deliver(self, job: int, revision: int, text: str) -> None:
        """Called by the hub for each event of a job this session follows (synchronous)."""
        sub = self.subs.get(job)
        if sub is None:
            return
        if self._events_queued >= self._event_queue_limit:
            self._overflow()
            return
        self._out.append(("event", sub, revision, text))
        self._events_queued += 1
        self._wake.set()

    def _overflow(self) -> None:
        """Too slow: drop every queued event; each subscription must be renewed."""
        self._out = deque(item for item in self._out if item[0] != "event")
        self._events_queued = 0
        for job, sub in list(self.subs.items()):
            self._drop(job)
            revision = -1 if sub.revision is None else sub.revision
            self.send(protocol.Resync(job=job, revision=revision, reason="overflow"))
        RESYNCS.inc()
        log.info("realtime slow consumer", session=self.id, user=self.user.id)

    def _abort(self, code: CloseCode) -> None:
        if self.machine.state is SessionState.CLOSING:
            return
        self.machine.to(SessionState.CLOSING)
        self._out.clear()
        self._events_queued = 0
        self._out.append(("close", code))
        self._wake.set()

    async def _send_loop(self) -> None:
        try:
            await self._send_items()
        except (WebSocketDisconnect, OSError, RuntimeError):
            pass  # the client is gone (Starlette raises RuntimeError after a close)
        except Exception:
            log.exception("realtime sender failed", session=self.id)
            with contextlib.suppress(Exception):
                await self.ws.close(1011, "internal error")

    async def _send_items(self) -> None:
        while True:
            while not self._out:
                self._wake.clear()
                await self._wake.wait()
            item = self._out.popleft()
            kind = item[0]
            if kind == "msg":
                await self.ws.send_text(item[1])
            elif kind == "event":
                self._events_queued -= 1
                await self._send_event(item[1], item[2], item[3])
            elif kind == "catchup":
                sub: Subscription = item[1]
                if self.subs.get(sub.job) is sub:
                    await self._catch_up(sub, item[2])
            elif kind == "close":
                code = item[1]
                await self.ws.close(code, CLOSE_REASONS[code])
                return

    async def _send_event(self, sub: Subscription, revision: int, text: str) -> None:
        if self.subs.get(sub.job) is not sub or sub.revision is None:
            return  # unsubscribed, or the catch-up still to come will include it
        if revision <= sub.revision:
            return  # already sent (by the catch-up)
        if revision > sub.revision + 1:  # should not happen; the store has what is missing
            for recorded in await self.hub.store.read_stream(
                job_stream(sub.job), sub.revision + 1, revision - sub.revision - 1
            ):
                sub.revision = recorded.revision
                await self.ws.send_text(self.hub.event_text(sub.job, recorded))
        # Counted as sent before the send completes: a resync queued while this send is
        # blocked on a slow socket must name this revision, which reaches the client first.
        sub.revision = revision
        await self.ws.send_text(text)

    async def _catch_up(self, sub: Subscription, since: int | None) -> None:
        """The missed events after `since`, or a snapshot; then `synced`."""
        store = self.hub.store
        stream = job_stream(sub.job)
        missed = None
        if since is not None and since >= -1:
            missed = await store.read_stream(stream, since + 1, CATCH_UP_LIMIT + 1)
            if len(missed) > CATCH_UP_LIMIT:
                missed = None
            elif not missed:
                current = await store.stream_revision(stream)
                if since > (-1 if current is None else current):
                    missed = None  # the client is ahead of the store (another database?)
        if missed is None:
            state = await self.hub.annotations.load(sub.job)
            revision = state.revision
            body = encoder.encode(state.to_cvat())  # no await since load: consistent
            snapshot = protocol.SnapshotMsg(
                job=sub.job, revision=revision, annotations=msgspec.Raw(body)
            )
            await self.ws.send_text(encoder.encode(snapshot).decode())
        else:
            revision = since if since is not None else -1
            for recorded in missed:
                await self.ws.send_text(self.hub.event_text(sub.job, recorded))
                revision = recorded.revision
        sub.revision = revision
        synced = protocol.Synced(job=sub.job, revision=revision, can_write=sub.can_write,
                                 read_only_reason=sub.read_only_reason)  # fmt: skip
        await self.ws.send_text(encoder.encode(synced).decode())
        for state_msg in self.hub.presence.current(sub.job, exclude=self.id):
            self.send_presence(state_msg)

    # --- the connection ---------------------------------------------------------------------

    async def run(self) -> None:
        sender = asyncio.create_task(self._send_loop(), name=f"ws-send-{self.id}")
        CONNECTIONS.inc()
        try:
            if await self._hello():
                await self._receive_loop(sender)
        except WebSocketDisconnect:
            pass
        finally:
            for job in list(self.subs):
                self._drop(job)
            if self.machine.state is SessionState.CLOSING:
                # let the sender flush its close frame
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(sender), 2.0)
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender
            self.machine.to(SessionState.CLOSED)
            CONNECTIONS.dec()

    async def _hello(self) -> bool:
        try:
            message = await asyncio.wait_for(self.ws.receive(), HELLO_TIMEOUT_S)
        except TimeoutError:
            self._abort(CloseCode.HELLO_EXPECTED)
            return False
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        try:
            hello = msgspec.json.decode(message.get("text") or b"", type=protocol.Hello)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self._abort(CloseCode.HELLO_EXPECTED)
            return False
        if hello.protocol != PROTOCOL_VERSION:
            self._abort(CloseCode.PROTOCOL_TOO_OLD)
            return False
        self.machine.to(SessionState.OPEN)
        self.send(
            protocol.Welcome(
                protocol=PROTOCOL_VERSION, session=self.id, user=self.user_ref,
                can_write=self.can_write, max_message_bytes=MAX_MESSAGE_BYTES,
            )
        )  # fmt: skip
        return True

    async def _receive_loop(self, sender: asyncio.Task[None]) -> None:
        while self.machine.state is SessionState.OPEN:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                self._error("binary", "send JSON text frames")
                continue
            if len(text) > MAX_MESSAGE_BYTES:
                self._error("too_big", f"messages are limited to {MAX_MESSAGE_BYTES} bytes")
                continue
            try:
                await self._handle(text)
            except Exception:  # a bug must not end the connection (nor anyone else's)
                log.exception("realtime message failed", session=self.id)
                self._error("internal", "the server failed on this message")
            if sender.done():
                return

    def _error(self, reason: protocol.ErrorReason, message: str, field: str | None = None) -> None:
        self.send(protocol.Error(reason=reason, message=message, field=field))

    async def _handle(self, text: str) -> None:
        problem = unstorable(text)
        if problem is not None:
            self._invalid(text, problem)
            return
        try:
            message = protocol.client_decoder.decode(text)
        except msgspec.ValidationError as exc:
            detail = from_msgspec(exc, "message").detail
            field, said = next(iter(detail.items())) if isinstance(detail, dict) else ("", "")
            self._invalid(text, said[0] if isinstance(said, list) and said else str(exc),
                          field or None)  # fmt: skip
            return
        except msgspec.DecodeError:
            self._error("malformed", "not a JSON message")
            return
        if isinstance(message, protocol.Op):
            await self._op(message)
        elif isinstance(message, protocol.Subscribe):
            await self._subscribe(message)
        elif isinstance(message, protocol.PresenceUpdate):
            if message.job not in self.subs:
                self._error("not_subscribed", f"subscribe to job {message.job} first", "job")
            else:
                self.hub.presence.update(self, message)
        elif isinstance(message, protocol.Unsubscribe):
            self._drop(message.job)
        elif isinstance(message, protocol.Ping):
            self.send(protocol.Pong(nonce=message.nonce))
        else:
            self._error("hello_twice", "the session is already open")

    def _invalid(self, text: str, message: str, field: str | None = None) -> None:
        """A message that decodes as JSON but breaks a rule: an op gets a nack (so its
        client can roll back), anything else an error."""
        try:
            raw = msgspec.json.decode(text)
        except msgspec.DecodeError:
            self._error("malformed", "not a JSON message")
            return
        if not isinstance(raw, dict):
            self._error("malformed", "a message is a JSON object with a type")
            return
        kind = raw.get("type")
        if kind not in CLIENT_TYPES:
            self._error("unknown_type", f"unknown message type {kind!r}", "type")
            return
        op_id, job = raw.get("op_id"), raw.get("job")
        if kind == "op" and isinstance(op_id, str) and isinstance(job, int):
            self.send(protocol.Nack(op_id=op_id, job=job, reason="invalid", message=message,
                                    field=field))  # fmt: skip
        else:
            self._error("invalid", message, field)

    # --- subscriptions ---------------------------------------------------------------------

    async def _subscribe(self, message: protocol.Subscribe) -> None:
        try:
            async with self.hub.pool.connection() as conn:
                lock = await access.annotation_lock(conn, self.user, message.job)
        except ApiError as exc:
            reason: protocol.ErrorReason = "not_found" if exc.status == 404 else "forbidden"
            self._error(reason, f"job {message.job}: {exc.detail}", "job")
            return
        self._drop(message.job)
        sub = Subscription(message.job)
        sub.can_write, sub.read_only_reason = self._writable(lock)
        self.subs[message.job] = sub
        self.hub.join(self, message.job)  # before the catch-up reads: nothing falls between
        self._out.append(("catchup", sub, message.since_revision))
        self._wake.set()

    def _writable(self, lock: str | None) -> tuple[bool, str | None]:
        """(can_write, why not) from the credentials and the policy's annotation lock."""
        if not self.can_write:
            return False, READ_ONLY_CREDENTIALS
        return lock is None, lock

    def set_access(self, job: int, lock: str | None) -> None:
        """The hub re-checked the job's permissions: say so when write access changed."""
        sub = self.subs.get(job)
        if sub is None:
            return
        can_write, reason = self._writable(lock)
        if (can_write, reason) == (sub.can_write, sub.read_only_reason):
            return
        sub.can_write, sub.read_only_reason = can_write, reason
        self._write_checked.pop(job, None)
        self.send(protocol.Access(job=job, can_write=can_write, read_only_reason=reason))

    def revoke(self, job: int) -> None:
        """The user may no longer see the job: end the subscription, say why."""
        if job in self.subs:
            self._drop(job)
            self._write_checked.pop(job, None)
            self._error("forbidden", f"job {job}: access revoked", "job")

    def _drop(self, job: int) -> None:
        if self.subs.pop(job, None) is not None:
            self.hub.leave(self, job)

    # --- ops -------------------------------------------------------------------------------

    def _nack(self, op: protocol.Op, reason: protocol.NackReason, message: str,
              field: str | None = None) -> None:  # fmt: skip
        OPS.labels(reason).inc()
        self.send(protocol.Nack(op_id=op.op_id, job=op.job, reason=reason, message=message,
                                field=field))  # fmt: skip

    async def _may_write(self, job: int) -> bool:
        """Checked once per PERMISSION_TTL_S, and again after any event that may change
        the job's owners or assignees (Hub.acl_epoch)."""
        until, epoch = self._write_checked.get(job, (0.0, -1))
        if until > time.monotonic() and epoch == self.hub.acl_epoch:
            return True
        epoch = self.hub.acl_epoch
        async with self.hub.pool.connection() as conn:
            await access.check_job(conn, self.user, "update:annotations", job)
        now = time.monotonic()
        # Right after a change the read model the check reads may still lag: don't trust it.
        if now - self.hub.acl_changed_at > ACL_SETTLE_S:
            self._write_checked[job] = (now + PERMISSION_TTL_S, epoch)
        return True

    async def _execute(
        self, job: int, batch: list[Command], labels: LabelSet, meta: EventMetadata
    ) -> Outcome:
        """One op at a time per job in this process (see Hub.job_lock); another process
        may still win the race a few times in a row, so give up only after a few rounds of
        the service's own retries."""
        for attempt in range(_EXECUTE_ROUNDS):
            async with self.hub.job_lock(job):
                try:
                    return await self.hub.annotations.execute(job, batch, labels, meta)
                except RuntimeError:
                    if attempt == _EXECUTE_ROUNDS - 1:
                        raise
        raise AssertionError("unreachable")

    async def _undo(self, op: protocol.Op) -> Outcome:
        step = undo.undo if isinstance(op.command, protocol.UndoCommand) else undo.redo
        async with self.hub.job_lock(op.job):
            done = await step(self.hub.container, op.job, self.user, source="ws", op_id=op.op_id)
        return Outcome(done.revision, done.position, done.events)

    async def _op(self, op: protocol.Op) -> None:
        if not self.can_write:
            self._nack(op, "read_only", READ_ONLY_CREDENTIALS)
            return
        try:
            await self._may_write(op.job)
        except ApiError as exc:
            # 404: the job is not there for this user; 403: they see it, so they are an
            # observer of it, and the detail says why (e.g. the job is in validation).
            reason: protocol.NackReason = "not_found" if exc.status == 404 else "read_only"
            self._nack(op, reason, str(exc.detail))
            return
        earlier = await self.hub.container.store.read_op(f"job-{op.job}", op.op_id, self.user.id)
        if earlier:
            # A re-send (the client never saw the ack, e.g. across a reconnect): answer it
            # from what the first send appended; applying it twice would duplicate objects.
            events = [decode_job_event(e.type, e.version, e.data) for e in earlier]
            OPS.labels("ack").inc()
            self.send(
                protocol.Ack(op_id=op.op_id, job=op.job, revision=earlier[-1].revision,
                             position=earlier[-1].position, ids=commands.created_ids(events))
            )  # fmt: skip
            return
        try:
            if isinstance(op.command, protocol.UndoCommand | protocol.RedoCommand):
                outcome = await self._undo(op)
            else:
                batch = commands.to_commands(op.command)
                meta = EventMetadata(actor=self.user.id, source="ws", op_id=op.op_id)
                try:
                    labels = await self.hub.labels(op.job)
                    outcome = await self._execute(op.job, batch, labels, meta)
                except DomainError as exc:
                    if not _about_labels(exc):
                        raise
                    # the cached labels may be older than the client's: decide once more
                    labels = await self.hub.labels(op.job, fresh=True)
                    outcome = await self._execute(op.job, batch, labels, meta)
        except NotFound as exc:
            self._nack(op, "not_found", exc.message, commands.error_field(op.command, exc))
            return
        except Conflict as exc:
            self._nack(op, "conflict", exc.message, commands.error_field(op.command, exc))
            return
        except DomainError as exc:
            self._nack(op, "invalid", exc.message, commands.error_field(op.command, exc))
            return
        except RuntimeError as exc:  # contention: the service gave up after its retries
            self._nack(op, "busy", str(exc))
            return
        OPS.labels("ack").inc()
        self.send(
            protocol.Ack(op_id=op.op_id, job=op.job, revision=outcome.revision,
                         position=outcome.position, ids=commands.created_ids(outcome.events))
        )  # fmt: skip
