"""/api/requests: background work (task data creation; later imports and exports) as
CVAT's clients poll it. A request is visible to its owner and to admins."""

from __future__ import annotations

import urllib.parse
from typing import Literal

import msgspec
from starlette.responses import Response

from backend.api.errors import ApiError, not_found
from backend.api.routing import ApiRequest, ApiRouter
from backend.services import requests
from backend.services.requests import RequestRead, RequestRow

router = ApiRouter("requests")

MAX_PAGE_SIZE = 1000


class RequestsQuery(msgspec.Struct, kw_only=True):
    page: int = 1
    page_size: int = 10
    status: Literal["queued", "started", "failed", "finished"] | None = None
    task_id: int | None = None
    job_id: int | None = None
    project_id: int | None = None
    action: str | None = None
    target: str | None = None
    format: str | None = None
    org: str | None = None


class PaginatedRequestList(msgspec.Struct):
    count: int
    next: str | None
    previous: str | None
    results: list[RequestRead]


def _page_url(req: ApiRequest, page: int) -> str:
    params = dict(req.request.query_params)
    params["page"] = str(page)
    return req.absolute_url(req.request.url.path) + "?" + urllib.parse.urlencode(params)


@router.get(
    "/api/requests", query=RequestsQuery, response=PaginatedRequestList,
    summary="Background requests of the current user (all of them for admins)",
)  # fmt: skip
async def list_requests(req: ApiRequest) -> PaginatedRequestList:
    query: RequestsQuery = req.query
    if query.page < 1:
        raise ApiError(404, "Invalid page.")
    size = max(1, min(query.page_size, MAX_PAGE_SIZE))
    filters = {
        key: getattr(query, key)
        for key in ("status", "task_id", "job_id", "project_id", "action", "target", "format")
        if getattr(query, key) is not None
    }
    user = req.principal
    async with req.container.pool.connection() as conn:
        count, rows = await requests.list_visible(
            conn, user_id=user.id, is_admin=user.is_admin,
            offset=(query.page - 1) * size, limit=size, filters=filters,
        )  # fmt: skip
    if query.page > 1 and not rows:
        raise ApiError(404, "Invalid page.")
    more = query.page * size < count
    return PaginatedRequestList(
        count=count,
        next=_page_url(req, query.page + 1) if more else None,
        previous=_page_url(req, query.page - 1) if query.page > 1 else None,
        results=[row.read() for row in rows],
    )


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
