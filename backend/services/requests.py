"""Background requests (CVAT's /api/requests): create, progress, finish, fail, cancel.
A request is visible to its owner and to admins only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

import msgspec
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

Status = Literal["queued", "started", "failed", "finished"]
CANCELLED_MESSAGE = "The request was cancelled."


class Operation(msgspec.Struct, kw_only=True):
    type: str
    target: str
    task_id: int | None = None
    project_id: int | None = None
    job_id: int | None = None
    org_id: int | None = None
    format: str | None = None
    function_id: int | None = None
    lightweight: bool | None = None


class RequestOwner(msgspec.Struct, kw_only=True):
    id: int
    username: str


class RequestRead(msgspec.Struct, kw_only=True):
    """CVAT's Request model; `message`, `result_url` and `result_id` are always present."""

    id: str
    status: Status
    message: str
    progress: float | None
    operation: Operation
    created_date: str
    started_date: str | None
    finished_date: str | None
    expiry_date: str | None
    owner: RequestOwner | None
    result_url: str | None
    result_id: int | None


class RequestRow(msgspec.Struct, kw_only=True):
    id: str
    owner_id: int
    owner_username: str | None
    status: Status
    message: str
    progress: float | None
    operation: Operation
    params: dict[str, Any]
    cancel_requested: bool
    result_url: str | None
    result_id: int | None
    created_date: datetime
    started_date: datetime | None
    finished_date: datetime | None
    expiry_date: datetime | None

    def read(self) -> RequestRead:
        owner = (
            RequestOwner(id=self.owner_id, username=self.owner_username)
            if self.owner_username is not None
            else None
        )
        return RequestRead(
            id=self.id, status=self.status, message=self.message, progress=self.progress,
            operation=self.operation, created_date=_iso(self.created_date),
            started_date=_iso_or_none(self.started_date),
            finished_date=_iso_or_none(self.finished_date),
            expiry_date=_iso_or_none(self.expiry_date), owner=owner,
            result_url=self.result_url, result_id=self.result_id,
        )  # fmt: skip


_SELECT = (
    "SELECT r.id::text, r.owner_id, u.username, r.status, r.message, r.progress, r.operation,"
    " r.params, r.cancel_requested, r.result_url, r.result_id, r.created_date,"
    " r.started_date, r.finished_date, r.expiry_date"
    " FROM requests r LEFT JOIN users u ON u.id = r.owner_id"
)
_FIELDS = [f.name for f in msgspec.structs.fields(RequestRow)]


def _row(values: tuple[Any, ...]) -> RequestRow:
    return msgspec.convert(dict(zip(_FIELDS, values, strict=True)), RequestRow, strict=False)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else _iso(value)


async def create(
    conn: AsyncConnection[Any], *, owner_id: int, operation: Operation,
    params: dict[str, Any] | None = None,
) -> str:  # fmt: skip
    rq_id = str(uuid.uuid4())
    await conn.execute(
        "INSERT INTO requests (id, owner_id, operation, params) VALUES (%s, %s, %s, %s)",
        [rq_id, owner_id, Jsonb(msgspec.to_builtins(operation)), Jsonb(params or {})],
    )
    return rq_id


def _valid_id(rq_id: str) -> bool:
    try:
        uuid.UUID(rq_id)
    except ValueError:
        return False
    return True


async def get(conn: AsyncConnection[Any], rq_id: str) -> RequestRow | None:
    if not _valid_id(rq_id):
        return None
    cur = await conn.execute(_SELECT + " WHERE r.id = %s", [rq_id])
    row = await cur.fetchone()
    return None if row is None else _row(row)


async def mark_started(conn: AsyncConnection[Any], rq_id: str) -> bool:
    """queued -> started; False when the request is gone, cancelled or already running."""
    cur = await conn.execute(
        "UPDATE requests SET status = 'started', started_date = now(), progress = 0"
        " WHERE id = %s AND status = 'queued' AND NOT cancel_requested RETURNING id",
        [rq_id],
    )
    return await cur.fetchone() is not None


async def set_progress(conn: AsyncConnection[Any], rq_id: str, progress: float) -> bool:
    """Record progress; returns whether cancellation was asked for."""
    cur = await conn.execute(
        "UPDATE requests SET progress = %s WHERE id = %s AND status = 'started'"
        " RETURNING cancel_requested",
        [max(0.0, min(progress, 1.0)), rq_id],
    )
    row = await cur.fetchone()
    return bool(row[0]) if row else True


async def cancel_requested(conn: AsyncConnection[Any], rq_id: str) -> bool:
    cur = await conn.execute("SELECT cancel_requested FROM requests WHERE id = %s", [rq_id])
    row = await cur.fetchone()
    return bool(row[0]) if row else True


async def finish(
    conn: AsyncConnection[Any], rq_id: str, *, result_url: str | None = None,
    result_id: int | None = None, message: str = "",
) -> None:  # fmt: skip
    """`message` of a finished request: what an import did and could not do (its report)."""
    await conn.execute(
        "UPDATE requests SET status = 'finished', progress = 1, finished_date = now(),"
        " message = %s, result_url = %s, result_id = %s WHERE id = %s",
        [message, result_url, result_id, rq_id],
    )


async def finished_exports(
    conn: AsyncConnection[Any], operation: Operation, version: str
) -> list[tuple[str, str]]:
    """(request id, file name) of the finished local exports of the same object, format and
    kind whose object version was `version`, newest first, younger than a day."""
    same = {
        "type": operation.type, "target": operation.target, "task_id": operation.task_id,
        "job_id": operation.job_id, "project_id": operation.project_id,
        "format": operation.format,
    }  # fmt: skip
    cur = await conn.execute(
        "SELECT id::text, params ->> 'filename' FROM requests WHERE status = 'finished'"
        " AND operation @> %s AND params ->> 'version' = %s"
        " AND params ->> 'cloud_storage_id' IS NULL"
        " AND finished_date > now() - interval '1 day' ORDER BY finished_date DESC LIMIT 5",
        [Jsonb(same), version],
    )
    return [(str(r[0]), str(r[1])) for r in await cur.fetchall() if r[1]]


async def fail(conn: AsyncConnection[Any], rq_id: str, message: str) -> None:
    await conn.execute(
        "UPDATE requests SET status = 'failed', finished_date = now(), message = %s"
        " WHERE id = %s AND status IN ('queued', 'started')",
        [message or "The request failed.", rq_id],
    )


async def cancel(conn: AsyncConnection[Any], rq_id: str) -> Status | None:
    """Ask for cancellation. A queued request fails at once; a started one is stopped by
    its worker at the next check. Returns the status before, None if unknown."""
    async with conn.transaction():
        cur = await conn.execute("SELECT status FROM requests WHERE id = %s FOR UPDATE", [rq_id])
        row = await cur.fetchone()
        if row is None:
            return None
        status: Status = row[0]
        if status == "queued":
            await conn.execute(
                "UPDATE requests SET cancel_requested = true, status = 'failed',"
                " finished_date = now(), message = %s WHERE id = %s",
                [CANCELLED_MESSAGE, rq_id],
            )
        elif status == "started":
            await conn.execute("UPDATE requests SET cancel_requested = true WHERE id = %s", [rq_id])
    return status


async def active_for_task(conn: AsyncConnection[Any], task_id: int, op_type: str) -> str | None:
    cur = await conn.execute(
        "SELECT id::text FROM requests WHERE (operation ->> 'task_id')::bigint = %s"
        " AND operation ->> 'type' = %s AND status IN ('queued', 'started') LIMIT 1",
        [task_id, op_type],
    )
    row = await cur.fetchone()
    return None if row is None else str(row[0])


INTERRUPTED_MESSAGE = (
    "The server stopped while this request was waiting or running; start it again."
)


async def fail_orphans(conn: AsyncConnection[Any], redis: Any) -> int:
    """Requests still queued or started whose queue job no longer exists (the worker or the
    whole server died with it, or Redis lost it) can never finish: fail them with a clear
    message rather than leave clients polling forever. Returns how many."""
    from arq.jobs import Job, JobStatus

    cur = await conn.execute("SELECT id::text FROM requests WHERE status IN ('queued', 'started')")
    failed = 0
    for (rq_id,) in await cur.fetchall():
        if await Job(rq_id, redis).status() == JobStatus.not_found:
            await fail(conn, rq_id, INTERRUPTED_MESSAGE)
            failed += 1
    return failed
