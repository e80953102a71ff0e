"""The audit trail: `GET /api/jobs/{id}/history`, `GET /api/tasks/{id}/history` and the
JSON Lines export of a job's log.

Entries are read straight from the `events` table (the log is the audit trail; no read
model to lag behind). Events hold the actor's id only; the username comes from the `users`
join, so erasing a user never rewrites history (the entry then shows `{id, username:
null}`); `actor` is null for events without one (system work).

* Job history = the job's stream, ordered by revision by default.
* Task history = the task's stream plus the streams of its jobs, ordered by position.
* `?format=jsonl` (or `/history/export`) streams the job's whole log as JSON Lines, one
  entry per line in revision order, read in batches so a long log is never held in memory.
* `POST /api/jobs/{id}/undo` and `/redo`: per-user undo/redo as compensating events
  (backend/services/undo.py; the rule is in backend/domain/undo.py). 409 when there is
  nothing to undo or redo.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any, Literal

import msgspec
from psycopg.rows import dict_row
from psycopg.sql import SQL
from starlette.responses import StreamingResponse

from backend.api import access
from backend.api.errors import ApiError
from backend.api.lists import Field, Paginated, Resource, list_page
from backend.api.routing import ApiRequest, ApiRouter
from backend.services import undo

router = ApiRouter("history")


class Actor(msgspec.Struct, kw_only=True):
    id: int
    username: str | None


class HistoryEntry(msgspec.Struct, kw_only=True):
    revision: int
    position: int
    stream: str
    type: str
    actor: Actor | None
    source: str  # api | ws | import | auto-annotation | system
    op_id: str | None
    recorded_at: datetime
    data: msgspec.Raw  # the event as stored (msgspec JSON of the event struct)
    undo_of: str | None = None  # set on compensating events of an undo (backend/services/undo)
    redo_of: str | None = None
    # an import's report (source "import"): format, file, mode, the job's shapes, tracks
    # and tags, and how many annotations the whole import skipped or dropped
    import_report: dict[str, Any] | None = None


_SOURCE = "events e LEFT JOIN users u ON u.id = (e.metadata->>'actor')::bigint"
_SELECT = (
    "e.position, e.stream_id, e.revision, e.type, e.metadata::text AS metadata, e.data,"
    " e.recorded_at, u.username"
)
_FIELDS = {
    "revision": Field("e.revision", "int"),
    "position": Field("e.position", "int"),
    "type": Field("e.type"),
    # EventMetadata omits its default source, "api".
    "source": Field("coalesce(e.metadata->>'source', 'api')"),
    "actor": Field("u.username"),
    "actor_id": Field("((e.metadata->>'actor')::bigint)", "int"),
    "op_id": Field("(e.metadata->>'op_id')"),
    "stream": Field("e.stream_id"),
    "recorded_at": Field("e.recorded_at", "datetime"),
}
_EXTRA = {"format": Literal["json", "jsonl"] | None}

JOB_HISTORY = Resource(
    name="job_history",
    source=_SOURCE,
    select=_SELECT,
    fields=_FIELDS,
    default_sort="revision",
    simple_filters=("type", "source", "actor", "actor_id", "op_id"),
    key="position",
    extra_query=_EXTRA,
)
TASK_HISTORY = Resource(
    name="task_history",
    source=_SOURCE,
    select=_SELECT,
    fields=_FIELDS,
    default_sort="position",
    simple_filters=("type", "source", "actor", "actor_id", "op_id", "stream"),
    key="position",
    extra_query=_EXTRA,
)


def _nested_query(resource: Resource) -> type:
    """The resource's list query as a plain struct: these lists live under a job or task
    path, and test_openapi's list check (query fields == documented parameters) does not
    count path parameters, so the history lists are not declared as ListQuery types."""
    fields = [(f.encode_name, f.type, f.default) for f in msgspec.structs.fields(resource.query)]
    title = resource.query.__name__.replace("ListQuery", "Query")
    return msgspec.defstruct(title, fields, kw_only=True)


JOB_HISTORY_QUERY = _nested_query(JOB_HISTORY)
TASK_HISTORY_QUERY = _nested_query(TASK_HISTORY)

_metadata = msgspec.json.Decoder(dict[str, Any])
_encoder = msgspec.json.Encoder()


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def entry(row: Mapping[str, Any]) -> HistoryEntry:
    meta = _metadata.decode(row["metadata"])
    actor_id = meta.get("actor")
    actor = None if actor_id is None else Actor(id=int(actor_id), username=row["username"])
    return HistoryEntry(
        revision=int(row["revision"]),
        position=int(row["position"]),
        stream=row["stream_id"],
        type=row["type"],
        actor=actor,
        source=str(meta.get("source", "api")),
        op_id=_opt_str(meta.get("op_id")),
        recorded_at=row["recorded_at"],
        data=msgspec.Raw(bytes(row["data"])),
        undo_of=_opt_str(meta.get("undo_of")),
        redo_of=_opt_str(meta.get("redo_of")),
        import_report=meta.get("report"),
    )


async def _check(req: ApiRequest, scope: Literal["job", "task"], ident: int) -> None:
    async with req.container.pool.connection() as conn:
        if scope == "job":
            await access.check_job(conn, req.principal, "view", ident)
        else:
            await access.check_task(conn, req.principal, "view", ident)


def _wants_jsonl(req: ApiRequest) -> bool:
    fmt = req.request.query_params.get("format")
    if fmt not in (None, "", "json", "jsonl"):
        raise ApiError(400, {"format": ["Expected 'json' or 'jsonl'."]})
    return fmt == "jsonl"


@router.get(
    "/api/jobs/{id:int}/history",
    query=JOB_HISTORY_QUERY,
    response=Paginated[HistoryEntry],
    summary="A job's audit trail: its events, who made them, when and how",
)
async def job_history(req: ApiRequest) -> Any:
    job_id: int = req.path["id"]
    await _check(req, "job", job_id)
    if _wants_jsonl(req):
        return _jsonl(req, job_id)
    page = await list_page(req, JOB_HISTORY, SQL("e.stream_id = %s"), [f"job-{job_id}"])
    return page.paginated([entry(row) for row in page.rows])


@router.get(
    "/api/jobs/{id:int}/history/export",
    summary="A job's audit trail as JSON Lines (one entry per line, by revision)",
)
async def export_job_history(req: ApiRequest) -> StreamingResponse:
    job_id: int = req.path["id"]
    await _check(req, "job", job_id)
    return _jsonl(req, job_id)


@router.get(
    "/api/tasks/{id:int}/history",
    query=TASK_HISTORY_QUERY,
    response=Paginated[HistoryEntry],
    summary="A task's audit trail: the task's events and its jobs' events, by position",
)
async def task_history(req: ApiRequest) -> Paginated[HistoryEntry]:
    task_id: int = req.path["id"]
    await _check(req, "task", task_id)
    _wants_jsonl(req)
    where = SQL(
        "(e.stream_id = %s OR e.stream_id IN"
        " (SELECT 'job-' || j.id FROM jobs j WHERE j.task_id = %s))"
    )
    page = await list_page(req, TASK_HISTORY, where, [f"task-{task_id}", task_id])
    return page.paginated([entry(row) for row in page.rows])


_BATCH = 500


def _jsonl(req: ApiRequest, job_id: int) -> StreamingResponse:
    pool = req.container.pool
    stream = f"job-{job_id}"
    query = f"SELECT {_SELECT} FROM {_SOURCE} WHERE e.stream_id = %s AND e.revision > %s"
    query += " ORDER BY e.revision LIMIT %s"

    async def lines() -> AsyncIterator[bytes]:
        after = -1
        while True:
            async with pool.connection() as conn:
                async with conn.cursor(row_factory=dict_row) as cur:
                    await cur.execute(query, [stream, after, _BATCH])
                    rows = await cur.fetchall()
            if not rows:
                return
            yield b"".join(_encoder.encode(entry(row)) + b"\n" for row in rows)
            after = int(rows[-1]["revision"])
            if len(rows) < _BATCH:
                return

    headers = {"Content-Disposition": f'attachment; filename="job_{job_id}_history.jsonl"'}
    return StreamingResponse(lines(), media_type="application/jsonl", headers=headers)


# --- undo / redo ------------------------------------------------------------------------


class SkippedRead(msgspec.Struct, kw_only=True):
    kind: str
    id: int
    reason: str
    properties: list[str]


class UndoRead(msgspec.Struct, kw_only=True):
    action: str
    target: str  # event id of the first event of the change compensated
    revision: int
    position: int
    events: list[msgspec.Raw]  # the compensating events, as history shows their data
    skipped: list[SkippedRead]


async def _undo_or_redo(req: ApiRequest, action: Literal["undo", "redo"]) -> UndoRead:
    job_id: int = req.path["id"]
    async with req.container.pool.connection() as conn:
        await access.check_job(conn, req.principal, "update:annotations", job_id)
    step = undo.undo if action == "undo" else undo.redo
    outcome = await step(req.container, job_id, req.principal)
    await req.projected(outcome.position)
    return UndoRead(
        action=outcome.action,
        target=outcome.target,
        revision=outcome.revision,
        position=outcome.position,
        events=[msgspec.Raw(_encoder.encode(e)) for e in outcome.events],
        skipped=[SkippedRead(**msgspec.structs.asdict(s)) for s in outcome.skipped],
    )


@router.post(
    "/api/jobs/{id:int}/undo",
    response=UndoRead,
    extra_responses={409: "Nothing to undo"},
    summary="Undo your latest change in the job (compensating events; others' later edits stay)",
)
async def undo_job_change(req: ApiRequest) -> UndoRead:
    return await _undo_or_redo(req, "undo")


@router.post(
    "/api/jobs/{id:int}/redo",
    response=UndoRead,
    extra_responses={409: "Nothing to redo"},
    summary="Redo your latest undo in the job",
)
async def redo_job_change(req: ApiRequest) -> UndoRead:
    return await _undo_or_redo(req, "redo")
