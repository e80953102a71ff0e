"""Production layout: `vellum serve` without an in-process projector
(VELLUM_INPROCESS_PROJECTOR=false) and `vellum projector` as a process of its own, which
projects the outbox and delivers it. Deliveries arrive; kill -9 of the projector in the
middle of a receiver's outage and a restart lose nothing and keep the order."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_webhooks import Receiver, project, rename, webhook
from tests.conftest import Server, api_server
from tests.integration.helpers import start, stop, vellum_env

REDIS_DB = 0  # as the other webhook modules: one server at a time, module by module


@pytest.fixture(scope="module")
def app_only(services: Any, template_db: str) -> Iterator[Server]:
    with api_server(services, template_db, redis_db=REDIS_DB, url_allowlist="127.0.0.1",
                    inprocess_projector="false") as running:  # fmt: skip
        yield running


def projector(services: Any, server: Server, log: Path) -> subprocess.Popen[bytes]:
    env = vellum_env(
        database_url=server.database_url, redis_url=f"{services.redis_url}?db={REDIS_DB}",
        data_dir=server.data_dir,  # the same generated secret key: it opens webhook secrets
        port=server.url.rsplit(":", 1)[1], url_allowlist="127.0.0.1", projector_poll_s="0.2",
    )  # fmt: skip
    return start(["projector"], env, log)


def wait_for(
    what: str, done: Callable[[], bool], receiver: Receiver, timeout_s: float = 30
) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        receiver.wait_for_request(0.2)


def test_the_projector_process_delivers_and_a_kill_mid_outage_loses_nothing(
    app_only: Server, services: Any, tmp_path: Path
) -> None:
    log = tmp_path / "projector.log"
    before = Receiver()
    port = before.port
    proc = projector(services, app_only, log)
    after: Receiver | None = None
    try:
        with httpx.Client(base_url=app_only.url, auth=app_only.admin, timeout=30) as admin:
            pid = project(admin, "p0")  # answered once the projector process projected it
            hid = webhook(admin, pid, before.url, ["update:project"])
            rename(admin, pid, "p1")
            wait_for("the first delivery", lambda: before.names() == ["p1"], before)
            before.close()  # the outage starts: connections are refused
            rename(admin, pid, "p2")
            rename(admin, pid, "p3")

            def failed() -> int:
                rows = admin.get(f"/api/webhooks/{hid}/deliveries").json()["results"]
                return sum(d["status_code"] == 502 for d in rows)

            wait_for("two failed attempts", lambda: failed() >= 2, before)
            proc.kill()  # SIGKILL in the middle of the outage
            assert proc.wait(30) == -signal.SIGKILL
            after = Receiver(port)  # the receiver is back
            proc = projector(services, app_only, log)  # and so is the projector
            wait_for("the missed deliveries", lambda: len(after.names()) >= 2, after)
            rename(admin, pid, "p4")
            wait_for("the next delivery", lambda: len(after.names()) >= 3, after)
            assert after.names() == ["p2", "p3", "p4"]  # each once, in order
            last = after.payloads()[-1]
            assert last["project"] == admin.get(f"/api/projects/{pid}").json()
            assert last["before_update"]["name"] == "p3"
    finally:
        if proc.poll() is None:
            assert stop(proc, signal.SIGTERM) == 0, log.read_text()[-3000:]
        if after is not None:
            after.close()
