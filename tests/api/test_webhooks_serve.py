"""`vellum serve` delivers webhooks by itself: the delivery loop runs in-process next to
the projector (VELLUM_WEBHOOK_DELIVERY defaults to on)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.test_webhooks import SECRET, Receiver, project, rename, webhook
from tests.conftest import Server, api_server


@pytest.fixture(scope="module")
def delivering_server(services: Any, template_db: str) -> Iterator[Server]:
    with api_server(services, template_db, redis_db=0, url_allowlist="127.0.0.1") as running:
        yield running


def test_serve_delivers_in_log_order(delivering_server: Server) -> None:
    receiver = Receiver()
    try:
        with httpx.Client(
            base_url=delivering_server.url, auth=delivering_server.admin, timeout=30
        ) as admin:
            pid = project(admin, "s0")
            webhook(admin, pid, receiver.url, ["update:project", "create:task"])
            rename(admin, pid, "s1")
            r = admin.post("/api/tasks", json={"name": "t", "project_id": pid})
            assert r.status_code == 201, r.text
            rename(admin, pid, "s2")
            deadline = time.monotonic() + 30
            while len(receiver.payloads()) < 3 and time.monotonic() < deadline:
                receiver.wait_for_request(0.5)
        assert [p["event"] for p in receiver.payloads()] == [
            "update:project",
            "create:task",
            "update:project",
        ]
        for headers, body in receiver.received:
            digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert headers["X-Signature-256"] == f"sha256={digest}"
        assert json.loads(receiver.received[2][1])["before_update"]["name"] == "s1"
    finally:
        receiver.close()
