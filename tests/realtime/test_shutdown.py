"""A server stops cleanly (exit 0, promptly) while sockets are open and subscribed."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from backend.realtime.client import RealtimeClient
from tests.conftest import ADMIN


async def test_the_server_stops_cleanly_with_open_sockets(services: Any, pair: Any) -> None:
    from tests.integration.helpers import free_port, start, stop, vellum_env, wait_http

    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="vellum-rt-stop-")
    env = vellum_env(
        database_url=pair.a.database_url, redis_url=f"{services.redis_url}?db=5",
        port=str(port), data_dir=data_dir, admin_user=ADMIN[0], admin_password=ADMIN[1],
        inprocess_worker="false",
    )  # fmt: skip
    log = Path(data_dir) / "serve.log"
    proc = start(["serve"], env, log)
    try:
        await asyncio.to_thread(wait_http, f"http://127.0.0.1:{port}/api/server/about", proc)
        client = RealtimeClient(f"ws://127.0.0.1:{port}/api/ws", basic=ADMIN)
        await client.connect()
        await client.send_raw('{"type": "ping"}')
        started = time.monotonic()
        code = await asyncio.to_thread(stop, proc)
        assert code == 0, log.read_text()[-3000:]
        assert time.monotonic() - started < 15
        await asyncio.wait_for(client.closed.wait(), 5)
        await client.close()
    finally:
        if proc.poll() is None:
            proc.kill()
        shutil.rmtree(data_dir, ignore_errors=True)
