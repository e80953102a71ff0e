"""Webhook delivery from the outbox the `webhooks` projection fills in log order.

Each webhook has a cursor (`webhook_cursors`): the last log position delivered to it.
One attempt locks that row, sends the next outbox entry, records the attempt as a
delivery row and, once the receiver has answered for good (see `settled`), moves the
cursor, all in ONE transaction. So delivery is at least once and in log order per
webhook: a crash before the commit leaves the cursor where it was and the in-flight entry
is sent again (the only possible duplicate). A failing receiver gets retries with
exponential backoff (capped at MAX_BACKOFF_S) and holds back only its own webhook. The
clock is injected so tests can live through a ten-minute outage without waiting for it."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Callable
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
from backend.projections.runner import PROJECTED_CHANNEL

log = structlog.get_logger(__name__)

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
) -> tuple[int | None, str]:
    """POST the payload; (status code, the start of the answer) or (None, why it failed)."""
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
        return None, str(exc)


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
    a 5xx, 408 or 429 (a 4xx is the receiver's final word); no answer at all (refused,
    timed out) is retried too."""
    return status is not None and status < 500 and status not in (408, 429)


class Deliverer:
    def __init__(
        self, pool: AsyncConnectionPool, box: MultiFernet | Fernet, policy: FetchPolicy,
        *, clock: Clock = utcnow, poll_s: float = 1.0,
    ) -> None:  # fmt: skip
        self.pool = pool
        self.box = box
        self.policy = policy
        self.clock = clock
        self.poll_s = poll_s

    async def due(self) -> list[int]:
        """Active webhooks with something to deliver whose next try is not in the future."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT c.webhook_id FROM webhook_cursors c JOIN webhooks w ON w.id = c.webhook_id"
                " WHERE w.is_active AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= %s)"
                " AND EXISTS (SELECT 1 FROM webhook_outbox o"
                "             WHERE o.webhook_id = c.webhook_id AND o.position > c.position)"
                " ORDER BY c.webhook_id",
                [self.clock()],
            )
            return [int(r[0]) for r in await cur.fetchall()]

    async def step(self) -> int:
        """One attempt for every webhook that is due; returns how many were delivered."""
        webhooks = await self.due()
        results = await asyncio.gather(*(self.attempt(w) for w in webhooks))
        return sum(results)

    async def attempt(self, webhook_id: int) -> bool:
        """Send the next entry of one webhook; True when its delivery is settled."""
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT position, failures FROM webhook_cursors WHERE webhook_id = %s"
                " FOR UPDATE SKIP LOCKED",
                [webhook_id],
            )
            cursor = await cur.fetchone()
            if cursor is None:  # another deliverer holds it
                return False
            position, failures = int(cursor[0]), int(cursor[1])
            dcur = conn.cursor(row_factory=dict_row)
            await dcur.execute(
                "SELECT target_url, secret, enable_ssl, is_active FROM webhooks WHERE id = %s",
                [webhook_id],
            )
            hook = await dcur.fetchone()
            await dcur.execute(
                "SELECT position, event, payload FROM webhook_outbox"
                " WHERE webhook_id = %s AND position > %s ORDER BY position, event LIMIT 1",
                [webhook_id, position],
            )
            entry = await dcur.fetchone()
            if hook is None or not hook["is_active"] or entry is None:
                return False
            payload = {**entry["payload"], "webhook_id": webhook_id}
            try:
                secret = open_secret(self.box, hook["secret"])
            except CredentialsError as exc:
                status, response = None, f"the secret cannot be decrypted: {exc}"
            else:
                policy = delivery_policy(self.policy, hook["enable_ssl"])
                status, response = await send(hook["target_url"], payload, secret, policy)
            now = self.clock()
            await record(conn, webhook_id, entry["event"], entry["position"], payload, status,
                         response, now)  # fmt: skip
            if settled(status):
                await conn.execute(
                    "UPDATE webhook_cursors SET position = %s, failures = 0,"
                    " next_attempt_at = NULL WHERE webhook_id = %s",
                    [entry["position"], webhook_id],
                )
                return True
            failures += 1
            await conn.execute(
                "UPDATE webhook_cursors SET failures = %s, next_attempt_at = %s"
                " WHERE webhook_id = %s",
                [failures, now + timedelta(seconds=backoff_s(failures)), webhook_id],
            )
            log.info("webhook delivery failed", webhook=webhook_id, status=status,
                     failures=failures)  # fmt: skip
            return False

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until `stop` is set; woken by every projector commit, else polling."""
        stop = stop or asyncio.Event()
        async with doorbell(conninfo_of(self.pool), channel=PROJECTED_CHANNEL) as ring:
            while not stop.is_set():
                try:
                    delivered = await self.step()
                except Exception:
                    log.exception("webhook delivery step failed; retrying")
                    delivered = 0
                if not delivered:
                    await ring(self.poll_s)


def deliverer_for(pool: AsyncConnectionPool, settings: Any) -> Deliverer:
    """The delivery loop with the process's settings (VELLUM_URL_ALLOWLIST, secret key)."""
    return Deliverer(
        pool, credentials.fernet(settings.secret_key, settings.data_dir),
        FetchPolicy.from_settings(settings), poll_s=settings.projector_poll_s,
    )  # fmt: skip
