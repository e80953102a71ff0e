"""A small asyncio client of `/api/ws` (tests, benchmarks, scripts and bots).

    async with RealtimeClient("ws://127.0.0.1:8080/api/ws", token=KEY) as client:
        view = await client.subscribe(job_id)          # snapshot, then live events
        ack = await client.op(job_id, {"type": "create", "shapes": [...]})
        view.state.to_cvat()                           # the job as this client sees it

Each subscribed job is a `JobView`: the domain's own JobAnnotations aggregate, built from
the snapshot and folded forward by the events in revision order (a duplicate is skipped, a
gap makes the client ask for the missing events with `subscribe {since_revision}`).
`reconnect()` opens a new socket and re-subscribes every job from its revision.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from backend.domain.annotations import CvatAnnotations, JobAnnotations, JobAnnotationsSnapshot
from backend.domain.events import decode_job_event
from backend.realtime import protocol
from backend.realtime.protocol import PROTOCOL_VERSION, encoder, server_decoder

_cvat = msgspec.json.Decoder(CvatAnnotations)


class RealtimeError(Exception):
    pass


class JobView:
    def __init__(self, job: int) -> None:
        self.job = job
        self.state = JobAnnotations()
        self.synced = asyncio.Event()
        self.changed = asyncio.Event()  # set whenever the state changes
        self.can_write = True
        self.read_only_reason: str | None = None
        self.duplicates = 0  # events skipped because already applied
        self.gaps = 0  # gaps seen (each answered by a catch-up request)
        self.applied: list[tuple[int, str | None]] = []  # (revision, op_id) in order
        self.presence: dict[str, protocol.PresenceState] = {}

    @property
    def revision(self) -> int:
        return self.state.revision

    def load_snapshot(self, revision: int, annotations: bytes) -> None:
        cvat = _cvat.decode(annotations)
        snapshot = JobAnnotationsSnapshot(
            revision=revision, job=None, shapes=cvat.shapes, tracks=cvat.tracks, tags=cvat.tags
        )
        self.state = JobAnnotations.from_snapshot(snapshot)
        self.changed.set()

    def cvat(self) -> CvatAnnotations:
        return self.state.to_cvat()


class RealtimeClient:
    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        basic: tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
        on_event: Callable[[protocol.EventMsg], None] | None = None,
    ) -> None:
        self.url = url
        self.headers = dict(headers or {})
        if token is not None:
            self.headers["Authorization"] = f"Bearer {token}"
        if basic is not None:
            pair = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
            self.headers["Authorization"] = f"Basic {pair}"
        self.on_event = on_event
        self.views: dict[int, JobView] = {}
        self.welcome: protocol.Welcome | None = None
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()  # errors, presence, pong, resync
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[protocol.Ack | protocol.Nack]] = {}
        self._welcomed: asyncio.Future[protocol.Welcome] | None = None
        self._ids = itertools.count(1)
        self.closed = asyncio.Event()

    # --- connection -------------------------------------------------------------------------

    async def connect(self) -> protocol.Welcome:
        self.closed.clear()
        self._ws = await connect(self.url, additional_headers=self.headers, max_size=None)
        self._welcomed = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(self._ws))
        await self.send(protocol.Hello(protocol=PROTOCOL_VERSION, client="vellum-py"))
        self.welcome = await asyncio.wait_for(asyncio.shield(self._welcomed), 10)
        return self.welcome

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(BaseException):
                await self._reader

    async def drop(self) -> None:
        """Lose the connection abruptly (no close handshake), as a network failure would."""
        if self._ws is not None:
            self._ws.transport.abort()
        if self._reader is not None:
            with contextlib.suppress(BaseException):
                await self._reader

    async def reconnect(self) -> None:
        """A new socket; every job is subscribed again from the revision this client has."""
        await self.close()
        await self.connect()
        for view in list(self.views.values()):
            view.synced.clear()
            await self.send(protocol.Subscribe(job=view.job, since_revision=view.revision))
        for view in list(self.views.values()):
            await asyncio.wait_for(view.synced.wait(), 30)

    async def __aenter__(self) -> RealtimeClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- requests -------------------------------------------------------------------------

    async def send(self, message: Any) -> None:
        await self.send_raw(encoder.encode(message).decode())

    async def send_raw(self, text: str | bytes) -> None:
        if self._ws is None:
            raise RealtimeError("not connected")
        await self._ws.send(text)

    async def subscribe(
        self, job: int, since_revision: int | None = None, wait_s: float = 30
    ) -> JobView:
        view = self.views.get(job) or JobView(job)
        self.views[job] = view
        view.synced.clear()
        await self.send(protocol.Subscribe(job=job, since_revision=since_revision))
        await asyncio.wait_for(view.synced.wait(), wait_s)
        return view

    async def unsubscribe(self, job: int) -> None:
        self.views.pop(job, None)
        await self.send(protocol.Unsubscribe(job=job))

    def new_op_id(self) -> str:
        return f"{uuid.uuid4().hex[:12]}-{next(self._ids)}"

    async def op(
        self,
        job: int,
        command: dict[str, Any],
        *,
        op_id: str | None = None,
        base_revision: int | None = None,
        wait_s: float = 30,
    ) -> protocol.Ack | protocol.Nack:
        op_id = op_id or self.new_op_id()
        future = asyncio.get_running_loop().create_future()
        self._pending[op_id] = future
        view = self.views.get(job)
        if base_revision is None and view is not None:
            base_revision = view.revision
        body = {"type": "op", "op_id": op_id, "job": job, "command": command}
        if base_revision is not None:
            body["base_revision"] = base_revision
        try:
            await self.send_raw(encoder.encode(body).decode())
            return await asyncio.wait_for(future, wait_s)
        finally:
            self._pending.pop(op_id, None)

    async def presence(
        self,
        job: int,
        frame: int | None = None,
        selection: list[int] | None = None,
        cursor: list[float] | None = None,
    ) -> None:
        await self.send(
            protocol.PresenceUpdate(job=job, frame=frame, selection=selection or [], cursor=cursor)
        )

    async def next_message(self, kind: type[Any], wait_s: float = 10) -> Any:
        """The next inbox message of `kind` (others before it are discarded)."""

        async def find() -> Any:
            while True:
                message = await self.inbox.get()
                if isinstance(message, kind):
                    return message

        return await asyncio.wait_for(find(), wait_s)

    async def wait_revision(self, job: int, revision: int, wait_s: float = 30) -> None:
        view = self.views[job]

        async def reached() -> None:
            while view.revision < revision:
                view.changed.clear()
                await view.changed.wait()

        await asyncio.wait_for(reached(), wait_s)

    # --- the reader ---------------------------------------------------------------------------

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                await self._dispatch(server_decoder.decode(raw))
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            error = RealtimeError("connection closed")
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(error)
            if self._welcomed is not None and not self._welcomed.done():
                self._welcomed.set_exception(error)

    async def _dispatch(self, message: Any) -> None:
        if isinstance(message, protocol.EventMsg):
            await self._event(message)
        elif isinstance(message, protocol.Ack | protocol.Nack):
            future = self._pending.get(message.op_id)
            if future is not None and not future.done():
                future.set_result(message)
            else:  # nobody waits for it (e.g. sent with send_raw)
                self.inbox.put_nowait(message)
        elif isinstance(message, protocol.SnapshotMsg):
            view = self.views.get(message.job)
            if view is not None:
                view.load_snapshot(message.revision, bytes(message.annotations))
        elif isinstance(message, protocol.Synced):
            view = self.views.get(message.job)
            if view is not None:
                view.can_write, view.read_only_reason = message.can_write, message.read_only_reason
                view.synced.set()
        elif isinstance(message, protocol.Welcome):
            if self._welcomed is not None and not self._welcomed.done():
                self._welcomed.set_result(message)
        else:
            if isinstance(message, protocol.PresenceState):
                view = self.views.get(message.job)
                if view is not None:
                    view.presence[message.session] = message
            elif isinstance(message, protocol.PresenceLeft):
                view = self.views.get(message.job)
                if view is not None:
                    view.presence.pop(message.session, None)
            elif isinstance(message, protocol.Access):
                view = self.views.get(message.job)
                if view is not None:
                    view.can_write = message.can_write
                    view.read_only_reason = message.read_only_reason
            elif isinstance(message, protocol.Resync):
                view = self.views.get(message.job)
                if view is not None:  # the server dropped the subscription: renew it
                    view.synced.clear()
                    await self.send(protocol.Subscribe(job=view.job, since_revision=view.revision))
            self.inbox.put_nowait(message)

    async def _event(self, message: protocol.EventMsg) -> None:
        view = self.views.get(message.job)
        if view is None:
            return
        if message.revision <= view.revision:
            view.duplicates += 1
            return
        if message.revision > view.revision + 1:
            if view.synced.is_set():  # ask once for what is missing; later events come with it
                view.gaps += 1
                view.synced.clear()
                await self.send(protocol.Subscribe(job=view.job, since_revision=view.revision))
            return
        event = decode_job_event(message.event_type, message.version, bytes(message.data))
        view.state.apply(event)
        view.applied.append((message.revision, message.op_id))
        view.changed.set()
        if self.on_event is not None:
            self.on_event(message)
