"""/api/webhooks through the real server and delivery from the event log to a real HTTP
receiver on 127.0.0.1 (allowed through VELLUM_URL_ALLOWLIST).

The server runs with VELLUM_WEBHOOK_DELIVERY=false: each test drives the delivery loop
(backend/webhooks/delivery.py) itself against the server's database, with a clock it
controls, so retries, a ten-minute outage and giving up take no real time."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from backend.cloud import credentials
from backend.net.safe_fetch import AllowList, FetchPolicy
from backend.webhooks.delivery import Deliverer
from tests.api.iam_helpers import PASSWORD, register
from tests.api.test_annotations import png
from tests.conftest import Server, api_server

SECRET = "whsec-" + uuid.uuid4().hex


class Receiver:
    """A real HTTP endpoint: answers `fail_next` requests with 503 (or refuses to be
    reached while `down`), then 200; keeps every request it accepted."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.attempts = 0
        self.fail_next = 0
        self.fail_status = 503
        self.lock = threading.Lock()
        # Hold the request number `hold_at` (1-based) until `release` is set.
        self.hold_at = 0
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.changed = threading.Condition(self.lock)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    outer.attempts += 1
                    held = outer.attempts == outer.hold_at
                if held:
                    outer.arrived.set()
                    outer.release.wait(30)
                with outer.lock:
                    failing = outer.fail_next > 0
                    if failing:
                        outer.fail_next -= 1
                    else:
                        outer.received.append((dict(self.headers), body))
                    outer.changed.notify_all()
                self.send_response(outer.fail_status if failing else 200)
                self.end_headers()
                self.wfile.write(b"busy" if failing else b"thanks")

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for_request(self, timeout_s: float) -> None:
        with self.changed:
            self.changed.wait(timeout_s)

    def names(self) -> list[str]:
        return [p["project"]["name"] for p in self.payloads()]

    def payloads(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for _, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def hook_server(services: Any, template_db: str) -> Iterator[Server]:
    with api_server(services, template_db, redis_db=0, url_allowlist="127.0.0.1",
                    webhook_delivery="false") as running:  # fmt: skip
        yield running


@pytest.fixture
def admin(hook_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hook_server.url, auth=hook_server.admin, timeout=30) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
async def pool(hook_server: Server) -> AsyncIterator[AsyncConnectionPool]:
    async with AsyncConnectionPool(hook_server.database_url, min_size=1, max_size=4) as p:
        yield p


def deliverer(
    server: Server, pool: AsyncConnectionPool, clock: Clock, *, max_age_s: float = 86400,
    timeout_s: float = 5,
) -> Deliverer:  # fmt: skip
    box = credentials.fernet("", server.data_dir)
    policy = FetchPolicy(allowlist=AllowList.parse("127.0.0.1"), timeout_s=timeout_s)
    return Deliverer(pool, box, policy, clock=clock, max_age_s=max_age_s)


def deliver_all(server: Server, clock: Clock) -> None:
    """drain() from a synchronous test, with a pool of its own."""

    async def run() -> None:
        async with AsyncConnectionPool(server.database_url, min_size=1, max_size=2) as p:
            await drain(deliverer(server, p, clock))

    asyncio.run(run())


async def drain(d: Deliverer) -> None:
    """Step until nothing is due now (a failing receiver leaves its webhook waiting)."""
    while await d.due() or await d.due_redeliveries():
        await d.step()


def project(client: httpx.Client, name: str = "birds") -> int:
    r = client.post("/api/projects", json={"name": name, "labels": [{"name": "bird"}]})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def webhook(client: httpx.Client, project_id: int, url: str, events: list[str]) -> int:
    r = client.post("/api/webhooks", json={
        "target_url": url, "type": "project", "project_id": project_id, "events": events,
        "secret": SECRET, "content_type": "application/json", "description": "pipeline",
    })  # fmt: skip
    assert r.status_code == 201, r.text
    assert SECRET not in r.text
    return int(r.json()["id"])


def get(client: httpx.Client, path: str) -> Any:
    r = client.get(path)
    assert r.status_code == 200, r.text
    return r.json()


def redeliver(client: httpx.Client, webhook_id: int, delivery_id: int) -> None:
    r = client.post(f"/api/webhooks/{webhook_id}/deliveries/{delivery_id}/redelivery")
    assert r.status_code == 200, r.text


def rename(client: httpx.Client, project_id: int, name: str) -> None:
    r = client.patch(f"/api/projects/{project_id}", json={"name": name})
    assert r.status_code == 200, r.text


def test_crud_never_returns_the_secret(admin: httpx.Client, hook_server: Server) -> None:
    pid = project(admin)
    hid = webhook(admin, pid, "http://127.0.0.1:9/hook", ["update:project", "create:task"])
    r = admin.get(f"/api/webhooks/{hid}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["events"] == ["update:project", "create:task"]
    assert body["project_id"] == pid and body["type"] == "project"
    assert body["content_type"] == "application/json" and body["is_active"] is True
    assert "secret" not in body
    r = admin.patch(f"/api/webhooks/{hid}", json={"is_active": False, "secret": "other"})
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert "other" not in r.text
    listed = admin.get("/api/webhooks", params={"project_id": pid}).json()
    assert [w["id"] for w in listed["results"]] == [hid]
    assert SECRET not in json.dumps(listed)
    with psycopg.connect(hook_server.database_url) as conn:
        stored = conn.execute("SELECT secret FROM webhooks WHERE id = %s", [hid]).fetchone()
        events = conn.execute("SELECT data::text FROM events WHERE stream_id = %s",
                              [f"webhook-{hid}"]).fetchall()  # fmt: skip
    assert stored is not None and stored[0] and "other" not in stored[0]
    assert not any(SECRET in e[0] or "other" in e[0] for e in events)
    rename(admin, pid, "pending for a webhook about to go")
    assert admin.delete(f"/api/webhooks/{hid}").status_code == 204
    assert admin.get(f"/api/webhooks/{hid}").status_code == 404
    with psycopg.connect(hook_server.database_url) as conn:
        left = conn.execute(
            "SELECT (SELECT count(*) FROM webhook_outbox WHERE webhook_id = %(h)s)"
            " + (SELECT count(*) FROM webhook_cursors WHERE webhook_id = %(h)s)",
            {"h": hid},
        ).fetchone()
    assert left == (0,)


def test_bad_input_is_a_400_naming_the_field(admin: httpx.Client) -> None:
    pid = project(admin)
    cases = [
        ({"type": "organization", "target_url": "http://127.0.0.1:9/", "events": []}, "type"),
        (
            {
                "type": "project",
                "project_id": pid,
                "target_url": "http://127.0.0.1:9/",
                "events": ["create:organization"],
            },
            "events",
        ),
        (
            {
                "type": "project",
                "project_id": 999999,
                "target_url": "http://127.0.0.1:9/",
                "events": [],
            },
            "project_id",
        ),
        (
            {"type": "project", "project_id": pid, "target_url": "http://10.1.2.3/", "events": []},
            "target_url",
        ),
    ]
    for body, field in cases:
        r = admin.post("/api/webhooks", json=body)
        assert r.status_code == 400, r.text
        assert field in r.json(), r.text
    assert admin.get("/api/webhooks", params={"project_id": pid}).json()["count"] == 0


def test_bad_targets_are_refused_with_one_clear_message(admin: httpx.Client) -> None:
    pid = project(admin)
    cases = {
        "http://127.0.0.1:99999/hook": "port 99999 is out of range (1-65535)",
        "http://10.1.2.3/hook": "10.1.2.3 is a private address; not allowed",
        "ftp://example.com/hook": "only http and https URLs are allowed (scheme: ftp)",
    }
    for url, reason in cases.items():
        body = {"type": "project", "project_id": pid, "target_url": url, "events": []}
        r = admin.post("/api/webhooks", json=body)
        assert r.status_code == 400, r.text
        assert r.json() == {"target_url": [f"{url}: {reason}"]}
    assert admin.get("/api/webhooks", params={"project_id": pid}).json()["count"] == 0


def test_events_list(admin: httpx.Client) -> None:
    r = admin.get("/api/webhooks/events", params={"type": "project"})
    assert r.status_code == 200
    keys = [e["key"] for e in r.json()["events"]]
    assert "update:project" in keys and "create:organization" not in keys
    assert {"key": "delete:job", "group": {"display_name": "Job"}} in r.json()["events"]
    everything = admin.get("/api/webhooks/events", params={"type": "organization"}).json()
    assert len(everything["events"]) == 24


def test_ping_is_signed_and_recorded(admin: httpx.Client, receiver: Receiver) -> None:
    pid = project(admin)
    hid = webhook(admin, pid, receiver.url, ["update:project"])
    r = admin.post(f"/api/webhooks/{hid}/ping")
    assert r.status_code == 200, r.text
    assert r.json()["status_code"] == 200 and r.json()["event"] == "ping"
    headers, body = receiver.received[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Signature-256"] == expected
    assert json.loads(body)["webhook"]["id"] == hid
    deliveries = admin.get(f"/api/webhooks/{hid}/deliveries").json()
    assert [d["event"] for d in deliveries["results"]] == ["ping"]
    assert admin.get(f"/api/webhooks/{hid}").json()["last_status"] == 200


async def test_update_delivers_before_update_and_a_valid_signature(
    admin: httpx.Client, receiver: Receiver, hook_server: Server, pool: AsyncConnectionPool
) -> None:
    pid = project(admin, "before")
    hid = webhook(admin, pid, receiver.url, ["update:project"])
    rename(admin, pid, "after")
    await drain(deliverer(hook_server, pool, Clock()))
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Signature-256"], expected)
    payload = json.loads(body)
    assert headers["Content-Type"] == "application/json"
    assert payload["event"] == "update:project" and payload["webhook_id"] == hid
    # The object as GET returns it (nothing changed it since), as CVAT sends its ProjectRead.
    assert payload["project"] == get(admin, f"/api/projects/{pid}")
    assert payload["before_update"]["name"] == "before"
    assert set(payload["before_update"]) <= {"name", "updated_date"}
    me = get(admin, "/api/users/self")
    assert payload["sender"] == {k: me[k] for k in ("url", "id", "username", "first_name",
                                                     "last_name")}  # fmt: skip


async def test_order_across_events_and_retries(
    admin: httpx.Client, receiver: Receiver, hook_server: Server, pool: AsyncConnectionPool
) -> None:
    pid = project(admin, "n0")
    webhook(admin, pid, receiver.url, ["update:project"])
    for i in range(1, 6):
        rename(admin, pid, f"n{i}")
    receiver.fail_next = 3
    clock = Clock()
    d = deliverer(hook_server, pool, clock)
    for _ in range(10):
        await drain(d)
        clock.advance(60)
    names = [p["project"]["name"] for p in receiver.payloads()]
    assert names == ["n1", "n2", "n3", "n4", "n5"]
    assert receiver.attempts == 8


async def test_ten_minute_outage_then_everything_in_order(
    admin: httpx.Client, hook_server: Server, pool: AsyncConnectionPool
) -> None:
    first = Receiver()
    port = first.port
    first.close()  # nothing listens there now: connections are refused
    pid = project(admin, "o0")
    hid = webhook(admin, pid, f"http://127.0.0.1:{port}/hook", ["update:project"])
    clock = Clock()
    d = deliverer(hook_server, pool, clock)
    for i in range(1, 4):
        rename(admin, pid, f"o{i}")
        await drain(d)
        clock.advance(30)
    for _ in range(20):  # ten minutes of retries, all failing
        await drain(d)
        clock.advance(30)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT status_code, response FROM webhook_deliveries WHERE webhook_id = %s", [hid]
        )
        rows = await cur.fetchall()
    assert 5 <= len(rows) <= 12  # backed off, not hammering
    # As CVAT records it: no answer is a 502, the reason in the response.
    assert {status for status, _ in rows} == {502}
    assert all(r.startswith("no answer: ") and "cannot connect" in r for _, r in rows)
    back = Receiver(port)
    try:
        clock.advance(600)  # the longest backoff
        await drain(d)
        assert [p["project"]["name"] for p in back.payloads()] == ["o1", "o2", "o3"]
    finally:
        back.close()


async def test_restart_in_the_middle_loses_nothing(
    admin: httpx.Client, receiver: Receiver, hook_server: Server, pool: AsyncConnectionPool
) -> None:
    pid = project(admin, "r0")
    webhook(admin, pid, receiver.url, ["update:project"])
    for i in range(1, 5):
        rename(admin, pid, f"r{i}")
    receiver.hold_at = 2  # the second delivery is in flight when the loop dies
    clock = Clock()
    running = asyncio.create_task(deliverer(hook_server, pool, clock).run())
    assert await asyncio.to_thread(receiver.arrived.wait, 30)
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    receiver.release.set()  # the receiver got it, but the sender never saw the answer
    await drain(deliverer(hook_server, pool, clock))
    assert receiver.names() == ["r1", "r2", "r2", "r3", "r4"]


def test_redelivery_sends_the_same_payload_again(
    admin: httpx.Client, receiver: Receiver, hook_server: Server
) -> None:
    pid = project(admin, "d0")
    hid = webhook(admin, pid, receiver.url, ["update:project"])
    rename(admin, pid, "d1")
    deliver_all(hook_server, Clock())
    first = admin.get(f"/api/webhooks/{hid}/deliveries").json()["results"]
    assert [(d["event"], d["status_code"], d["redelivery"]) for d in first] == [
        ("update:project", 200, False)
    ]
    one = admin.get(f"/api/webhooks/{hid}/deliveries/{first[0]['id']}").json()
    assert one["request"]["project"]["name"] == "d1" and one["response"] == "thanks"
    r = admin.post(f"/api/webhooks/{hid}/deliveries/{first[0]['id']}/redelivery")
    assert r.status_code == 200, r.text
    assert len(receiver.payloads()) == 1  # queued: the delivery loop sends it, not the request
    deliver_all(hook_server, Clock())
    assert receiver.payloads()[0] == receiver.payloads()[1]
    latest = admin.get(f"/api/webhooks/{hid}/deliveries").json()["results"][0]
    assert latest["redelivery"] is True and latest["status_code"] == 200
    # CVAT's changed_fields: the keys of before_update (updated_date changed too).
    assert latest["changed_fields"].split(",") == list(latest["request"]["before_update"])
    assert "name" in latest["changed_fields"].split(",")
    assert admin.get(f"/api/webhooks/{hid}/deliveries/999999").status_code == 404


def test_a_loopback_target_outside_the_allow_list_is_refused(admin: httpx.Client) -> None:
    pid = project(admin)
    loopback = {"type": "project", "project_id": pid, "target_url": "http://[::1]:8080/"}
    r = admin.post("/api/webhooks", json={**loopback, "events": []})
    assert r.status_code == 400, r.text
    assert "target_url" in r.json()
    hid = webhook(admin, pid, "http://127.0.0.1:9/", [])
    r = admin.patch(f"/api/webhooks/{hid}", json={"target_url": "http://169.254.169.254/x"})
    assert r.status_code == 400 and "target_url" in r.json(), r.text
    assert admin.get(f"/api/webhooks/{hid}").json()["target_url"] == "http://127.0.0.1:9/"


def test_inactive_and_unsubscribed_webhooks_get_nothing(
    admin: httpx.Client, receiver: Receiver, hook_server: Server
) -> None:
    pid = project(admin, "i0")
    quiet = webhook(admin, pid, receiver.url, ["update:project"])
    assert admin.patch(f"/api/webhooks/{quiet}", json={"is_active": False}).status_code == 200
    webhook(admin, pid, receiver.url, ["create:task"])
    rename(admin, pid, "i1")
    r = admin.post("/api/tasks", json={"name": "t", "project_id": pid})
    assert r.status_code == 201, r.text
    deliver_all(hook_server, Clock())
    assert [(p["event"], p["task"]["id"]) for p in receiver.payloads()] == [
        ("create:task", r.json()["id"])
    ]


def project_task_jobs(client: httpx.Client, pid: int) -> list[int]:
    """A task of `pid` with 4 images cut into 2 jobs; their ids."""
    r = client.post("/api/tasks", json={"name": "frames", "project_id": pid, "segment_size": 2})
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    url = f"/api/tasks/{task_id}/data/"
    image = png()
    files = [(f"client_files[{i}]", (f"{i:03}.png", image)) for i in range(4)]
    r = client.post(url, data={"image_quality": "70"}, files=files)
    assert r.status_code == 202, r.text
    rq_id = r.json()["rq_id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.get(f"/api/requests/{rq_id}").json()["status"]
        if status in ("finished", "failed"):
            break
        time.sleep(0.2)  # polling a remote request's status: there is nothing to wait on
    assert status == "finished"
    jobs = client.get("/api/jobs", params={"task_id": task_id}).json()
    return sorted(j["id"] for j in jobs["results"])


def test_review_and_job_events_reach_the_project_webhook(
    admin: httpx.Client, receiver: Receiver, hook_server: Server
) -> None:
    pid = project(admin, "reviewed")
    job = project_task_jobs(admin, pid)[0]
    events = ["create:issue", "update:issue", "create:comment", "update:comment", "update:job"]
    webhook(admin, pid, receiver.url, events)
    r = admin.post("/api/issues", json={"job": job, "frame": 0, "position": [1, 2, 3, 4],
                                        "message": "fix it"})  # fmt: skip
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    assert admin.patch(f"/api/issues/{iid}", json={"resolved": True}).status_code == 200
    r = admin.post("/api/comments", json={"issue": iid, "message": "ok"})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert admin.patch(f"/api/comments/{cid}", json={"message": "ok!"}).status_code == 200
    r = admin.patch(f"/api/jobs/{job}", json={"stage": "validation"})
    assert r.status_code == 200, r.text
    deliver_all(hook_server, Clock())
    got = receiver.payloads()
    # An issue's first message is a comment of its own (CVAT creates both).
    assert [p["event"] for p in got] == [
        "create:issue", "create:comment", "update:issue", "create:comment", "update:comment",
        "update:job",
    ]  # fmt: skip
    assert got[0]["issue"]["id"] == iid and got[0]["issue"]["job"] == job
    assert got[1]["comment"]["message"] == "fix it" and got[1]["comment"]["issue"] == iid
    assert got[2]["before_update"]["resolved"] is False and got[2]["issue"]["resolved"]
    assert got[3]["comment"]["message"] == "ok" and got[3]["comment"]["issue"] == iid
    assert got[4]["before_update"]["message"] == "ok" and got[4]["comment"]["message"] == "ok!"
    assert got[5]["before_update"]["stage"] == "annotation"
    assert got[5]["job"] == admin.get(f"/api/jobs/{job}").json()


async def test_a_final_4xx_answer_is_not_retried(
    admin: httpx.Client, receiver: Receiver, hook_server: Server, pool: AsyncConnectionPool
) -> None:
    """As CVAT: only a 5xx, 408, 429 or no answer is retried; the receiver's 4xx is final."""
    pid = project(admin, "g0")
    webhook(admin, pid, receiver.url, ["update:project"])
    rename(admin, pid, "g1")
    rename(admin, pid, "g2")
    receiver.fail_next, receiver.fail_status = 1, 410
    await drain(deliverer(hook_server, pool, Clock()))
    assert receiver.attempts == 2 and receiver.names() == ["g2"]


def test_only_project_staff_and_admins_use_a_projects_webhooks(
    admin: httpx.Client, hook_server: Server
) -> None:
    owner = register(hook_server.url)
    stranger = register(hook_server.url)
    url = hook_server.url
    with (
        httpx.Client(base_url=url, auth=(str(owner["username"]), PASSWORD)) as mine,
        httpx.Client(base_url=url, auth=(str(stranger["username"]), PASSWORD)) as other,
    ):
        pid = project(mine, "owned")
        hid = webhook(mine, pid, "http://127.0.0.1:9/hook", ["update:project"])
        body = {"type": "project", "project_id": pid, "target_url": "http://127.0.0.1:9/x",
                "events": []}  # fmt: skip
        assert other.post("/api/webhooks", json=body).status_code == 403
        assert other.get(f"/api/webhooks/{hid}").status_code == 404
        assert other.patch(f"/api/webhooks/{hid}", json={"is_active": False}).status_code == 404
        assert other.post(f"/api/webhooks/{hid}/ping").status_code == 404
        assert other.get("/api/webhooks").json()["count"] == 0
        assert [w["id"] for w in mine.get("/api/webhooks").json()["results"]] == [hid]
        assert admin.get(f"/api/webhooks/{hid}").status_code == 200
        assert mine.delete(f"/api/webhooks/{hid}").status_code == 204


def test_cvat_sdk_creates_pings_and_reads_webhooks(
    admin: httpx.Client, receiver: Receiver, hook_server: Server
) -> None:
    from cvat_sdk import make_client
    from cvat_sdk.api_client import models

    pid = project(admin, "sdk")
    host, port = hook_server.url.rsplit(":", 1)
    with make_client(host, port=int(port), credentials=hook_server.admin) as client:
        api = client.api_client.webhooks_api
        made, _ = api.create(models.WebhookWriteRequest(
            target_url=receiver.url, type=models.WebhookType("project"), project_id=pid,
            events=[models.EventsEnum("update:project")], secret=SECRET,
        ))  # fmt: skip
        assert made.project_id == pid and [str(e) for e in made.events] == ["update:project"]
        read, _ = api.retrieve(made.id)
        assert read.target_url == receiver.url and "secret" not in read.to_dict()
        api.partial_update(made.id, patched_webhook_write_request=models.PatchedWebhookWriteRequest(
            description="via sdk"))  # fmt: skip
        assert api.retrieve(made.id)[0].description == "via sdk"
        delivery, _ = api.create_ping(made.id)
        assert delivery.status_code == 200 and delivery.event == "ping"
        page, _ = api.list_deliveries(made.id)
        assert [d.id for d in page.results] == [delivery.id]
        events, _ = api.retrieve_events(type="project")
        assert "update:project" in [e.key for e in events.events]
        api.destroy(made.id)


def test_deleting_a_task_sends_what_it_held_first(
    admin: httpx.Client, receiver: Receiver, hook_server: Server
) -> None:
    """CVAT deletes a task's jobs, issues and comments with it and sends a delete event for
    each (children first); every payload is the object as GET showed it just before."""
    pid = project(admin, "doomed")
    jobs = project_task_jobs(admin, pid)
    task_id = admin.get(f"/api/jobs/{jobs[0]}").json()["task_id"]
    r = admin.post("/api/issues", json={"job": jobs[0], "frame": 0, "position": [1, 2, 3, 4],
                                        "message": "first"})  # fmt: skip
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    assert admin.post("/api/comments", json={"issue": iid, "message": "second"}).status_code == 201
    hid = webhook(admin, pid, receiver.url, ["delete:comment", "delete:issue", "delete:job",
                                             "delete:task", "delete:project"])  # fmt: skip
    comments = admin.get("/api/comments", params={"issue_id": iid}).json()["results"]
    before = {
        "task": [admin.get(f"/api/tasks/{task_id}").json()],
        "job": [admin.get(f"/api/jobs/{j}").json() for j in jobs],
        "issue": [admin.get(f"/api/issues/{iid}").json()],
        "comment": sorted(comments, key=lambda c: c["id"]),
    }
    assert admin.delete(f"/api/tasks/{task_id}").status_code == 204
    before["project"] = [admin.get(f"/api/projects/{pid}").json()]
    assert admin.delete(f"/api/projects/{pid}").status_code == 204
    # the webhook went with its project (CVAT cascades) but still sends what it had queued
    assert admin.get(f"/api/webhooks/{hid}").status_code == 404
    assert admin.get(f"/api/webhooks/{hid}/deliveries").status_code == 404
    assert hid not in [w["id"] for w in admin.get("/api/webhooks?page_size=all").json()["results"]]
    deliver_all(hook_server, Clock())
    got = receiver.payloads()
    kinds = ["comment", "comment", "issue", "job", "job", "task", "project"]
    assert [p["event"] for p in got] == [f"delete:{k}" for k in kinds]
    sent: dict[str, list[Any]] = {}
    for kind, payload in zip(kinds, got, strict=True):
        sent.setdefault(kind, []).append(payload[kind])
        assert payload["sender"]["username"] == "admin" and "before_update" not in payload
    assert sent == before


async def test_an_entry_undelivered_past_the_max_age_is_given_up_and_later_ones_go_on(
    admin: httpx.Client, hook_server: Server, pool: AsyncConnectionPool
) -> None:
    first = Receiver()
    port = first.port
    first.close()  # refused until a receiver listens there again
    clock = Clock()
    pid = project(admin, "a0")
    hid = webhook(admin, pid, f"http://127.0.0.1:{port}/hook", ["update:project"])
    rename(admin, pid, "a1")
    rename(admin, pid, "a2")
    d = deliverer(hook_server, pool, clock, max_age_s=3600)
    await drain(d)  # a1 fails
    async with pool.connection() as conn:  # a1 and a2 happened two hours ago
        await conn.execute(
            "UPDATE webhook_outbox SET created_at = created_at - interval '2 hours'"
            " WHERE webhook_id = %s",
            [hid],
        )
    clock.advance(60)
    await drain(d)  # a1 fails once more, two hours old: a1 and a2 are given up
    back = Receiver(port)
    try:
        rename(admin, pid, "a3")
        clock.advance(60)
        await drain(d)
        assert back.names() == ["a3"]  # what came later is not held back
        rows = get(admin, f"/api/webhooks/{hid}/deliveries")["results"][::-1]
        assert [(d["request"]["project"]["name"], d["status_code"]) for d in rows] == [
            ("a1", 502), ("a1", 502), ("a1", None), ("a2", None), ("a3", 200)
        ]  # fmt: skip
        assert all(d["response"].startswith("not sent: given up") for d in rows[2:4])
        # A given-up delivery can be sent again by hand.
        redeliver(admin, hid, rows[2]["id"])
        await drain(d)
        assert back.names() == ["a3", "a1"]
        assert get(admin, f"/api/webhooks/{hid}/deliveries")["results"][0]["redelivery"]
    finally:
        back.close()


async def test_no_answer_in_time_is_recorded_as_a_504_and_retried(
    admin: httpx.Client, receiver: Receiver, hook_server: Server, pool: AsyncConnectionPool
) -> None:
    pid = project(admin, "t0")
    hid = webhook(admin, pid, receiver.url, ["update:project"])
    rename(admin, pid, "t1")
    receiver.hold_at = 1  # the first request gets no answer until released
    clock = Clock()
    try:
        await drain(deliverer(hook_server, pool, clock, timeout_s=0.5))
    finally:
        receiver.release.set()
    rows = get(admin, f"/api/webhooks/{hid}/deliveries")["results"]
    assert [d["status_code"] for d in rows] == [504]
    assert rows[0]["response"].startswith("no answer: ") and "0.5 s" in rows[0]["response"]
    assert get(admin, f"/api/webhooks/{hid}")["last_status"] == 504
    clock.advance(60)
    await drain(deliverer(hook_server, pool, clock))
    assert receiver.names() == ["t1", "t1"]  # the held one was answered late, then resent
