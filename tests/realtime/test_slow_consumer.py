"""A client that stops reading, on a real TCP socket: the server keeps a bounded queue for
it, then tells it to resync; once it reads again and re-subscribes from the revision it
has, it gets exactly the events it missed. The writer is never held up."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest
from websockets.asyncio.client import connect

from backend.realtime import protocol
from backend.realtime.client import RealtimeClient
from tests.conftest import Server, api_server
from tests.realtime.conftest import new_job

QUEUE_LIMIT = 20
# Big events fill the kernel's socket buffers (a few MB on loopback) in few appends
# (the slow client also turns compression off, which would shrink them).
POINTS = 6000


@pytest.fixture(scope="module")
def small_queue_server(services: Any, template_db: str) -> Iterator[Server]:
    with api_server(
        services, template_db, redis_db=13, ws_event_queue_limit=str(QUEUE_LIMIT)
    ) as server:
        yield server


def _polygon(label_id: int, shift: float) -> dict[str, Any]:
    points = [float(v % 500) + shift for v in range(POINTS)]
    return {"type": "polygon", "frame": 0, "label_id": label_id, "points": points}


async def test_a_client_that_stops_reading_is_resynced_and_then_catches_up_exactly(
    small_queue_server: Server,
) -> None:
    server = small_queue_server
    with httpx.Client(base_url=server.url, auth=server.admin, timeout=60) as http:
        task, job = new_job(http)
    url = server.url.replace("http://", "ws://") + "/api/ws"
    auth = base64.b64encode(":".join(server.admin).encode()).decode()
    host, port = server.url.removeprefix("http://").split(":")
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a tiny receive window
    raw.connect((host, int(port)))
    raw.setblocking(False)
    decode = msgspec.json.decode
    async with (
        connect(
            url, sock=raw, max_queue=1, max_size=None, compression=None,
            additional_headers={"Authorization": f"Basic {auth}"},
        ) as slow,
        RealtimeClient(url, basic=server.admin) as editor,
    ):  # fmt: skip
        await slow.send(msgspec.json.encode({"type": "hello", "protocol": 1}).decode())
        assert decode(await slow.recv())["type"] == "welcome"
        await slow.send(msgspec.json.encode({"type": "subscribe", "job": job}).decode())
        first = decode(await slow.recv())
        assert first["type"] == "snapshot"
        seen = first["revision"]
        # From here on the slow client reads nothing while the editor writes big events.
        await editor.subscribe(job)
        label = task.label("person")
        revisions = []
        for i in range(120):
            ack = await asyncio.wait_for(
                editor.op(job, {"type": "create", "shapes": [_polygon(label, i)]}), 30
            )
            assert isinstance(ack, protocol.Ack), ack
            revisions.append(ack.revision)
        head = revisions[-1]
        # Now it reads again: a prefix of events in order, then the resync.
        got: list[int] = []
        resync: dict[str, Any] | None = None
        while resync is None:
            message = decode(await asyncio.wait_for(slow.recv(), 30))
            if message["type"] == "event":
                got.append(message["revision"])
            elif message["type"] == "resync":
                resync = message
        assert resync["job"] == job and resync["reason"] == "overflow"
        assert got == list(range(seen + 1, seen + 1 + len(got)))
        assert len(got) < len(revisions)  # some events were dropped instead of queued
        assert resync["revision"] == (got[-1] if got else seen)
        # Re-subscribing from what it has delivers exactly the missing events.
        since = resync["revision"]
        await slow.send(
            msgspec.json.encode({"type": "subscribe", "job": job, "since_revision": since}).decode()
        )
        caught: list[int] = []
        while True:
            message = decode(await asyncio.wait_for(slow.recv(), 30))
            if message["type"] == "event":
                caught.append(message["revision"])
            elif message["type"] == "synced":
                break
        assert caught == list(range(since + 1, head + 1))
