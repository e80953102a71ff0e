"""Realtime fan-out: 50 websocket clients on one job of a `vellum serve` started here, 100
ops/s in total (round robin over the clients) for BENCH_REALTIME_SECONDS (default 30):
latency from an op sent to its event arriving at every OTHER client. The same load runs
against a bare `websockets` broadcast server (another process, no auth, no store: each
message is relayed to every connection) in the same run. Then 1,000 idle subscribers over
50 jobs: server memory per connection (RSS growth / connections), against the bare server
holding 1,000 idle connections.

Figures: realtime.p50_ms, realtime.p99_ms (ratio = ours / bare), realtime.mem_per_conn_kb.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import msgspec
import psutil
from _common import log, report, services
from annotations import ADMIN, images_task, serve
from websockets.asyncio.client import ClientConnection, connect

CLIENTS = int(os.environ.get("BENCH_REALTIME_CLIENTS", "50"))
RATE = 100.0  # ops per second, all clients together
SECONDS = float(os.environ.get("BENCH_REALTIME_SECONDS", "30"))
IDLE = int(os.environ.get("BENCH_REALTIME_IDLE", "1000"))
IDLE_JOBS = 50
WARMUP_S = 2.0


class _Tagged(msgspec.Struct):
    """Only what the clients need of a message: its type and op id."""

    type: str
    op_id: str | None = None


_peek = msgspec.json.Decoder(_Tagged)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the bare baseline -------------------------------------------------------------------


def bare_server(port: int) -> None:
    """Relay every text message to every connection (the floor of any broadcast)."""
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    peers: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        peers.add(ws)
        try:
            async for message in ws:
                broadcast(peers, message)
        finally:
            peers.discard(ws)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", port, max_size=None) as server:
            await server.serve_forever()

    asyncio.run(main())


@contextlib.contextmanager
def bare() -> Iterator[tuple[str, psutil.Process]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    code = f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); " \
           f"import realtime; realtime.bare_server({port})"  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the bare server did not start")
            time.sleep(0.05)
        yield f"ws://127.0.0.1:{port}", psutil.Process(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


# --- load ------------------------------------------------------------------------------------


class Latencies:
    def __init__(self) -> None:
        self.sent: dict[str, tuple[float, int]] = {}  # op id -> (time, sender index)
        self.samples: list[float] = []
        self.acks: list[float] = []  # op sent -> ack at the sender (diagnostics)
        self.recording = False

    def received(self, op_id: str | None, receiver: int, now: float) -> None:
        sent = self.sent.get(op_id or "")
        if sent is not None and sent[1] != receiver and self.recording:
            self.samples.append((now - sent[0]) * 1000)


async def _reader(ws: ClientConnection, index: int, lat: Latencies, wanted: str) -> None:
    with contextlib.suppress(Exception):
        async for raw in ws:
            now = time.perf_counter()
            message = _peek.decode(raw)
            if message.type == wanted:
                lat.received(message.op_id, index, now)
            elif message.type == "ack" and lat.recording:
                lat.acks.append((now - lat.sent[message.op_id or ""][0]) * 1000)


async def drive(
    sockets: list[ClientConnection],
    make: Callable[[int, str], str],
    lat: Latencies,
    wanted: str,
) -> None:
    readers = [asyncio.create_task(_reader(ws, i, lat, wanted)) for i, ws in enumerate(sockets)]
    interval = 1.0 / RATE
    started = time.perf_counter()
    n = 0
    while True:
        elapsed = time.perf_counter() - started
        if elapsed > WARMUP_S + SECONDS:
            break
        lat.recording = elapsed > WARMUP_S
        index = n % len(sockets)
        op_id = f"op{n}"
        lat.sent[op_id] = (time.perf_counter(), index)
        await sockets[index].send(make(index, op_id))
        n += 1
        await asyncio.sleep(max(0.0, started + n * interval - time.perf_counter()))
    await asyncio.sleep(1.0)  # let the last events arrive
    for task in readers:
        task.cancel()
    log(f"{wanted}: {n} ops sent, {len(lat.samples)} deliveries measured")
    if lat.acks:
        log(f"acks: p50 {_percentile(lat.acks, 0.5):.2f} ms, p99 {_percentile(lat.acks, 0.99):.2f}")


async def bare_load(url: str) -> list[float]:
    sockets = [await connect(url, max_size=None) for _ in range(CLIENTS)]
    lat = Latencies()
    pad = "x" * 200  # about the size of one of our update events

    def make(index: int, op_id: str) -> str:
        return msgspec.json.encode({"type": "event", "op_id": op_id, "pad": pad}).decode()

    await drive(sockets, make, lat, "event")
    for ws in sockets:
        await ws.close()
    return lat.samples


def _headers() -> dict[str, str]:
    pair = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


async def _open(url: str, job: int) -> ClientConnection:
    ws = await connect(url, additional_headers=_headers(), max_size=None)
    await ws.send('{"type": "hello", "protocol": 1}')
    await ws.send(f'{{"type": "subscribe", "job": {job}}}')
    while _peek.decode(await ws.recv()).type != "synced":
        pass
    return ws


async def our_load(url: str, job: int, shape_ids: list[int]) -> list[float]:
    sockets = [await _open(url, job) for _ in range(CLIENTS)]
    lat = Latencies()
    counter = [0]

    def make(index: int, op_id: str) -> str:
        counter[0] += 1
        x = float(counter[0] % 500)
        patch = {"id": shape_ids[index], "points": [x, 10.0, x + 20.0, 30.0]}
        body = {"type": "op", "op_id": op_id, "job": job,
                "command": {"type": "update", "shapes": [patch]}}  # fmt: skip
        return msgspec.json.encode(body).decode()

    await drive(sockets, make, lat, "event")
    for ws in sockets:
        await ws.close()
    return lat.samples


async def hold_idle(
    open_one: Callable[[int], Awaitable[ClientConnection]], process: psutil.Process
) -> float:
    """RSS growth per connection (KiB) while IDLE connections are open."""
    warm = [await open_one(i) for i in range(10)]  # code paths and pools warmed
    await asyncio.sleep(1.0)
    before = process.memory_info().rss
    sockets: list[ClientConnection] = []
    for start in range(0, IDLE, 50):
        sockets += await asyncio.gather(*(open_one(i) for i in range(start, start + 50)))
    await asyncio.sleep(2.0)
    after = process.memory_info().rss
    for ws in sockets + warm:
        await ws.close()
    return (after - before) / IDLE / 1024


def main() -> None:
    with bare() as (bare_url, bare_proc):
        bare_samples = asyncio.run(bare_load(bare_url))

        async def bare_open(i: int) -> ClientConnection:
            return await connect(bare_url)

        bare_mem = asyncio.run(hold_idle(bare_open, bare_proc))
    with services() as (database_url, redis_url), serve(database_url, redis_url) as (url, proc):
        with httpx.Client(base_url=url, auth=ADMIN, timeout=120) as http:
            jobs, label_id = images_task(http, IDLE_JOBS, segment_size=1, size=(32, 24))
            job = jobs[0]
            shapes = [{"type": "rectangle", "label_id": label_id, "frame": 0,
                       "points": [i, 1.0, i + 5.0, 6.0]} for i in range(CLIENTS)]  # fmt: skip
            r = http.patch(f"/api/jobs/{job}/annotations", params={"action": "create"},
                           json={"shapes": shapes})  # fmt: skip
            r.raise_for_status()
            shape_ids = sorted(s["id"] for s in r.json()["shapes"])
        ws_url = url.replace("http://", "ws://") + "/api/ws"
        ours = asyncio.run(our_load(ws_url, job, shape_ids))

        async def our_open(i: int) -> ClientConnection:
            return await _open(ws_url, jobs[i % len(jobs)])

        our_mem = asyncio.run(hold_idle(our_open, proc))
    p50, p99 = _percentile(ours, 0.5), _percentile(ours, 0.99)
    bare50, bare99 = _percentile(bare_samples, 0.5), _percentile(bare_samples, 0.99)
    extra: dict[str, Any] = {"clients": CLIENTS, "ops_per_s": RATE, "seconds": SECONDS,
                             "samples": len(ours)}  # fmt: skip
    report("realtime.p50_ms", p50, "ms", bare50, "ratio <= 3", p50 <= 3 * bare50, **extra)
    report("realtime.p99_ms", p99, "ms", bare99, "value <= 50", p99 <= 50, **extra)
    report("realtime.mem_per_conn_kb", our_mem, "KiB", bare_mem, "informational", True,
           connections=IDLE, jobs=IDLE_JOBS)  # fmt: skip


if __name__ == "__main__":
    main()
