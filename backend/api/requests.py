"""/api/requests: background work (task data creation; later imports and exports) as
CVAT's clients poll it. A request is visible to its owner and to admins."""

from __future__ import annotations

import msgspec
from arq.connections import ArqRedis
from psycopg import sql
from starlette.responses import Response

from backend.api.errors import ApiError, not_found
from backend.api.lists import Field, Paginated, Resource, list_page
from backend.api.routing import ApiRequest, ApiRouter
from backend.services import requests
from backend.services.requests import RequestRead, RequestRow

router = ApiRouter("requests")

REQUESTS = Resource(
    name="requests",
    source="requests r LEFT JOIN users u ON u.id = r.owner_id",
    select=(
        "r.id::text AS id, r.owner_id, u.username AS owner_username, r.status, r.message,"
        " r.progress, r.operation, r.params, r.cancel_requested, r.result_url, r.result_id,"
        " r.created_date, r.started_date, r.finished_date, r.expiry_date"
    ),
    fields={
        "id": Field("r.id::text"),
        "status": Field("r.status"),
        "task_id": Field("((r.operation ->> 'task_id')::bigint)", "int"),
        "job_id": Field("((r.operation ->> 'job_id')::bigint)", "int"),
        "project_id": Field("((r.operation ->> 'project_id')::bigint)", "int"),
        "action": Field("split_part(r.operation ->> 'type', ':', 1)"),
        "target": Field("(r.operation ->> 'target')"),
        "format": Field("(r.operation ->> 'format')"),
        "created_date": Field("r.created_date", "datetime"),
    },
    default_sort="-created_date",
    simple_filters=("status", "task_id", "job_id", "project_id", "action", "target", "format"),
)


@router.get(
    "/api/requests", query=REQUESTS.query, response=Paginated[RequestRead],
    summary="Background requests of the current user (all of them for admins)",
)  # fmt: skip
async def list_requests(req: ApiRequest) -> Paginated[RequestRead]:
    user = req.principal
    own = (
        sql.SQL("TRUE")
        if user.is_admin
        else sql.SQL("r.owner_id = {}").format(sql.Literal(user.id))
    )
    page = await list_page(req, REQUESTS, own)
    return page.paginated([msgspec.convert(row, RequestRow).read() for row in page.rows])


async def _visible(req: ApiRequest) -> RequestRow:
    async with req.container.pool.connection() as conn:
        row = await requests.get(conn, str(req.path["rq_id"]))
    user = req.principal
    if row is None or (row.owner_id != user.id and not user.is_admin):
        raise not_found("Request not found.")
    return row


@router.get("/api/requests/{rq_id}", response=RequestRead, summary="One background request")
async def get_request(req: ApiRequest) -> RequestRead:
    return (await _visible(req)).read()


@router.post("/api/requests/{rq_id}/cancel", summary="Cancel a background request")
async def cancel_request(req: ApiRequest) -> Response:
    row = await _visible(req)
    async with req.container.pool.connection() as conn:
        before = await requests.cancel(conn, row.id)
    if before not in ("queued", "started"):
        raise ApiError(400, "Only requests that have not finished can be cancelled.")
    return Response(status_code=200)


class RqId(msgspec.Struct):
    rq_id: str


async def enqueue(req: ApiRequest, function: str, rq_id: str) -> Response:
    """Queue the arq job of a request just created (its id is the job's id) and answer 202
    `{"rq_id"}`, as the clients expect; a request that cannot be queued fails at once
    instead of waiting forever."""
    arq = ArqRedis(connection_pool=req.container.redis.connection_pool)
    try:
        await arq.enqueue_job(function, rq_id, _job_id=rq_id)
    except BaseException:
        async with req.container.pool.connection() as conn:
            await requests.fail(conn, rq_id, "The work could not be queued; try again.")
        raise
    return Response(msgspec.json.encode(RqId(rq_id)), 202, media_type="application/json")
