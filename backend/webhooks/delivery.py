"""Webhook delivery from the outbox the `webhooks` projection fills in log order.

Each webhook has a cursor (`webhook_cursors`): the last outbox entry (position, seq) it is
done with. One attempt locks that row, sends the next entry, records the attempt as a
delivery row and, once the receiver has answered for good (see `settled`), moves the
cursor, all in ONE transaction. So delivery is at least once and in log order per
webhook: a crash before the commit leaves the cursor where it was and the in-flight entry
is sent again (the only possible duplicate). A failing receiver gets retries with
exponential backoff (capped at MAX_BACKOFF_S) and holds back only its own webhook.

Retries end: when an attempt fails for an entry older than `max_age_s`
(VELLUM_WEBHOOK_MAX_AGE_S) after its event, it is given up with the entries behind it that
are as old, each recorded as a delivery with no status code saying so (it can be
redelivered), and the webhook goes on with the next entry in order. Redeliveries asked
for through the API are sent here too, each on its own (as CVAT queues them), with the
same retries.

The clock is injected so tests can live through long outages without waiting."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import structlog
from cryptography.fernet import Fernet, MultiFernet
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from backend.cloud import credentials
from backend.cloud.credentials import CredentialsError
from backend.db import conninfo_of
from backend.eventstore.postgres import doorbell
from backend.net.safe_fetch import FetchError, FetchPolicy, open_stream

log = structlog.get_logger(__name__)

NOTIFY_CHANNEL = "vellum_webhooks"  # rung when the outbox or the redelivery queue grows

Clock = Callable[[], datetime]
MAX_BACKOFF_S = 600.0  # at most ten minutes between two tries
FIRST_BACKOFF_S = 1.0
EXCERPT_BYTES = 4096  # of a receiver's answer, kept in the delivery row
TIMEOUT_S = 10.0


def utcnow() -> datetime:
    return datetime.now(UTC)


def backoff_s(failures: int) -> float:
    """Seconds before the next try after `failures` failed ones: 1, 2, 4 ... 600."""
    return float(min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2 ** max(failures - 1, 0)))


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def signature(secret: str, body: bytes) -> str:
    """CVAT's `X-Signature-256`: the HMAC-SHA256 of the body keyed with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery_policy(base: FetchPolicy, enable_ssl: bool) -> FetchPolicy:
    return dataclasses.replace(
        base, timeout_s=min(base.timeout_s, TIMEOUT_S), max_bytes=EXCERPT_BYTES,
        max_redirects=0, verify=base.verify if enable_ssl else False,
    )  # fmt: skip


def open_secret(box: MultiFernet | Fernet, sealed: str) -> str:
    if not sealed:
        return ""
    return credentials.unseal(box, sealed).secret_key


async def send(
    url: str, payload: dict[str, Any], secret: str, policy: FetchPolicy
) -> tuple[int, str]:
    """POST the payload; (status code, the start of the answer). As CVAT records it: no
    answer at all is a 502 (no connection) or a 504 (timed out), the reason as the answer."""
    body = body_of(payload)
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Signature-256"] = signature(secret, body)
    try:
        async with open_stream(
            url, policy, method="POST", headers=headers, content=body, follow_redirects=False
        ) as response:
            excerpt = b""
            async for chunk in response.aiter_bytes():
                excerpt += chunk
                if len(excerpt) >= EXCERPT_BYTES:
                    break
            return response.status_code, excerpt[:EXCERPT_BYTES].decode(errors="replace")
    except FetchError as exc:
        return (504 if exc.timed_out else 502), f"no answer: {exc}"


async def record(
    conn: psycopg.AsyncConnection[Any], webhook_id: int, event: str, position: int | None,
    payload: dict[str, Any], status: int | None, response: str, now: datetime,
    *, redelivery: bool = False,
) -> int:  # fmt: skip
    cur = await conn.execute(
        "INSERT INTO webhook_deliveries (webhook_id, event, position, status_code, redelivery,"
        " request, response, created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        [webhook_id, event, position, status, redelivery, Jsonb(payload),
         response.replace("\x00", ""), now, now],
    )  # fmt: skip
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


def settled(status: int | None) -> bool:
    """Whether the receiver's answer ends this entry's delivery. As CVAT: any answer but
    a 5xx, 408 or 429 (a 4xx is the receiver's final word)."""
    return status is not None and status < 500 and status not in (408, 429)


async def request_redelivery(
    conn: psycopg.AsyncConnection[Any], webhook_id: int, event: str, payload: dict[str, Any]
) -> None:
    """Queue a payload to be sent again by the delivery loop (the API answers at once)."""
    await conn.execute(
        "INSERT INTO webhook_redeliveries (webhook_id, event, payload, created_at)"
        " VALUES (%s, %s, %s, %s)",
        [webhook_id, event, Jsonb(payload), utcnow()],
    )
    await conn.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])


_HOOK = "SELECT target_url, secret, enable_ssl, is_active FROM webhooks WHERE id = %s"
_GIVE_UP_BATCH = 1000


class Deliverer:
    def __init__(
        self, pool: AsyncConnectionPool, box: MultiFernet | Fernet, policy: FetchPolicy,
        *, clock: Clock = utcnow, poll_s: float = 1.0, max_age_s: float = 24 * 3600,
    ) -> None:  # fmt: skip
        self.pool = pool
        self.box = box
        self.policy = policy
        self.clock = clock
        self.poll_s = poll_s
        self.max_age = timedelta(seconds=max_age_s)

    async def due(self) -> list[int]:
        """Active webhooks with something to deliver whose next try is not in the future."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT c.webhook_id FROM webhook_cursors c JOIN webhooks w ON w.id = c.webhook_id"
                " WHERE w.is_active AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= %s)"
                " AND EXISTS (SELECT 1 FROM webhook_outbox o WHERE o.webhook_id = c.webhook_id"
                "             AND (o.position, o.seq) > (c.position, c.seq))"
                " ORDER BY c.webhook_id",
                [self.clock()],
            )
            return [int(r[0]) for r in await cur.fetchall()]

    async def due_redeliveries(self) -> list[int]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id FROM webhook_redeliveries"
                " WHERE next_attempt_at IS NULL OR next_attempt_at <= %s ORDER BY id",
                [self.clock()],
            )
            return [int(r[0]) for r in await cur.fetchall()]

    async def step(self) -> int:
        """One attempt for every webhook and redelivery that is due; returns how many
        entries were settled (delivered or given up)."""
        webhooks, again = await self.due(), await self.due_redeliveries()
        # Each attempt holds a pooled connection for up to TIMEOUT_S: leave the rest of the
        # pool (shared with the API in `vellum serve`) free.
        limit = asyncio.Semaphore(max(1, self.pool.max_size // 2))

        async def bounded(attempt: Awaitable[bool]) -> bool:
            async with limit:
                return await attempt

        results = await asyncio.gather(
            *(bounded(self.attempt(w)) for w in webhooks),
            *(bounded(self.redeliver(r)) for r in again),
        )
        return sum(results)

    async def _send(self, hook: dict[str, Any], payload: dict[str, Any]) -> tuple[int | None, str]:
        try:
            secret = open_secret(self.box, hook["secret"])
        except CredentialsError as exc:
            return None, f"not sent: the secret cannot be decrypted ({exc})"
        policy = delivery_policy(self.policy, hook["enable_ssl"])
        return await send(hook["target_url"], payload, secret, policy)

    async def attempt(self, webhook_id: int) -> bool:
        """Send the next entry of one webhook; True when an entry was settled."""
        async with self.pool.connection() as conn, conn.transaction():
            dcur = conn.cursor(row_factory=dict_row)
            await dcur.execute(
                "SELECT position, seq, failures FROM webhook_cursors WHERE webhook_id = %s"
                " FOR UPDATE SKIP LOCKED",
                [webhook_id],
            )
            cursor = await dcur.fetchone()
            if cursor is None:  # another deliverer holds it
                return False
            await dcur.execute(_HOOK, [webhook_id])
            hook = await dcur.fetchone()
            if hook is None or not hook["is_active"]:
                return False
            await dcur.execute(
                "SELECT position, seq, event, payload, created_at FROM webhook_outbox"
                " WHERE webhook_id = %s AND (position, seq) > (%s, %s)"
                " ORDER BY position, seq LIMIT %s",
                [webhook_id, cursor["position"], cursor["seq"], _GIVE_UP_BATCH],
            )
            entries = await dcur.fetchall()
            if not entries:
                return False
            failures = int(cursor["failures"])
            entry = entries[0]
            payload = {**entry["payload"], "webhook_id": webhook_id}
            status, response = await self._send(hook, payload)
            now = self.clock()
            await record(conn, webhook_id, entry["event"], entry["position"], payload, status,
                         response, now)  # fmt: skip
            if settled(status):
                await _advance(conn, webhook_id, entry, failures=0, next_attempt_at=None)
                return True
            failures += 1
            log.info("webhook delivery failed", webhook=webhook_id, status=status,
                     failures=failures)  # fmt: skip
            next_attempt_at = now + timedelta(seconds=backoff_s(failures))
            if await self._give_up(conn, webhook_id, entries, failures, next_attempt_at):
                return True
            await conn.execute(
                "UPDATE webhook_cursors SET failures = %s, next_attempt_at = %s"
                " WHERE webhook_id = %s",
                [failures, next_attempt_at, webhook_id],
            )
            return False

    async def _give_up(
        self, conn: psycopg.AsyncConnection[Any], webhook_id: int,
        entries: list[dict[str, Any]], failures: int, next_attempt_at: datetime,
    ) -> bool:  # fmt: skip
        """After a failed attempt, give up the entries at the webhook's head that are older
        than the maximum age (the one just tried first): each gets a delivery row saying so
        (no status code), and the cursor moves past them so later events go on in order."""
        now = self.clock()
        old: list[dict[str, Any]] = []
        for entry in entries:
            if now - entry["created_at"] < self.max_age:
                break
            old.append(entry)
        if not old:
            return False
        why = (
            f"not sent: given up, undelivered {self.max_age.total_seconds():g} s after the"
            f" event (the target failed {failures} attempts in a row); redeliver it to send"
            " it again"
        )
        for entry in old:
            payload = {**entry["payload"], "webhook_id": webhook_id}
            await record(conn, webhook_id, entry["event"], entry["position"], payload, None,
                         why, now)  # fmt: skip
        # The target is still failing: the next entry waits for the backoff as a retry would.
        await _advance(conn, webhook_id, old[-1], failures=failures,
                       next_attempt_at=next_attempt_at)  # fmt: skip
        log.warning("webhook entries given up", webhook=webhook_id, entries=len(old))
        return True

    async def redeliver(self, request_id: int) -> bool:
        """One try of a queued redelivery; True once it is settled (or dropped)."""
        async with self.pool.connection() as conn, conn.transaction():
            dcur = conn.cursor(row_factory=dict_row)
            await dcur.execute(
                "SELECT webhook_id, event, payload, failures, created_at"
                " FROM webhook_redeliveries WHERE id = %s FOR UPDATE SKIP LOCKED",
                [request_id],
            )
            queued = await dcur.fetchone()
            if queued is None:
                return False
            await dcur.execute(_HOOK, [queued["webhook_id"]])
            hook = await dcur.fetchone()
            done = "DELETE FROM webhook_redeliveries WHERE id = %s"
            if hook is None or not hook["is_active"]:  # as CVAT: nothing to an inactive one
                await conn.execute(done, [request_id])
                return True
            status, response = await self._send(hook, queued["payload"])
            now = self.clock()
            await record(conn, queued["webhook_id"], queued["event"], None, queued["payload"],
                         status, response, now, redelivery=True)  # fmt: skip
            if settled(status) or now - queued["created_at"] >= self.max_age:
                await conn.execute(done, [request_id])
                return True
            failures = int(queued["failures"]) + 1
            await conn.execute(
                "UPDATE webhook_redeliveries SET failures = %s, next_attempt_at = %s WHERE id = %s",
                [failures, now + timedelta(seconds=backoff_s(failures)), request_id],
            )
            return False

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until `stop` is set; woken when the outbox or the redelivery queue
        grows, else polling (retries fall due with time)."""
        stop = stop or asyncio.Event()
        async with doorbell(conninfo_of(self.pool), channel=NOTIFY_CHANNEL) as ring:
            while not stop.is_set():
                try:
                    delivered = await self.step()
                except Exception:
                    log.exception("webhook delivery step failed; retrying")
                    delivered = 0
                if not delivered:
                    await ring(self.poll_s)


async def _advance(
    conn: psycopg.AsyncConnection[Any], webhook_id: int, entry: dict[str, Any],
    *, failures: int, next_attempt_at: datetime | None,
) -> None:  # fmt: skip
    """Move the cursor past `entry` and drop what it passed (its delivery rows keep it)."""
    await conn.execute(
        "UPDATE webhook_cursors SET position = %s, seq = %s, failures = %s, next_attempt_at = %s"
        " WHERE webhook_id = %s",
        [entry["position"], entry["seq"], failures, next_attempt_at, webhook_id],
    )
    await conn.execute(
        "DELETE FROM webhook_outbox WHERE webhook_id = %s AND (position, seq) <= (%s, %s)",
        [webhook_id, entry["position"], entry["seq"]],
    )


def deliverer_for(pool: AsyncConnectionPool, settings: Any) -> Deliverer:
    """The delivery loop with the process's settings (VELLUM_URL_ALLOWLIST, secret key,
    VELLUM_WEBHOOK_MAX_AGE_S)."""
    return Deliverer(
        pool, credentials.fernet(settings.secret_key, settings.data_dir),
        FetchPolicy.from_settings(settings), poll_s=settings.projector_poll_s,
        max_age_s=settings.webhook_max_age_s,
    )  # fmt: skip
