"""/api/issues and /api/comments: CVAT's review issues (a region on a frame of a job, with
an owner, an optional assignee and a resolved flag) and their comments, served from the
`issues` / `comments` read models. Every write is one event on the job's stream
(backend/domain/review.py), so it shows in the job's history and on its realtime socket.

Who may do what: backend/iam/policy.py (can_create_issue, can_issue, can_comment); what a
user may not see is a 404, what they see but may not change a 403."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from backend.api import access
from backend.api.errors import bad_request, not_found, permission_denied
from backend.api.filters import Field
from backend.api.lists import Paginated, Resource, fetch_row, list_page
from backend.api.representations import (
    Linker,
    Summary,
    UserSummary,
    user_columns,
    user_summary,
)
from backend.api.routing import ApiRequest, ApiRouter
from backend.domain import review
from backend.iam import policy
from backend.services.review import ReviewService

router = ApiRouter("review")


ISSUES = Resource(
    name="issues",
    source="issues i LEFT JOIN jobs ij ON ij.id = i.job_id"
    " LEFT JOIN users ou ON ou.id = i.owner_id LEFT JOIN users au ON au.id = i.assignee_id",
    select="i.*, "
    + user_columns("ou", "owner")
    + ", "
    + user_columns("au", "assignee")
    + ", (SELECT count(*) FROM comments c WHERE c.issue_id = i.id) AS comments_count",
    fields={
        "id": Field("i.id", "int"),
        "job_id": Field("i.job_id", "int"),
        "task_id": Field("ij.task_id", "int"),
        "frame_id": Field("i.frame", "int"),
        "owner": Field("ou.username"),
        "assignee": Field("au.username"),
        "resolved": Field("i.resolved", "bool"),
        "updated_date": Field("i.updated_at", "datetime"),
    },
    search=("owner", "assignee"),
    simple_filters=("job_id", "task_id", "frame_id", "owner", "assignee", "resolved"),
)
COMMENTS = Resource(
    name="comments",
    source="comments c LEFT JOIN issues ci ON ci.id = c.issue_id"
    " LEFT JOIN users ou ON ou.id = c.owner_id",
    select="c.*, " + user_columns("ou", "owner"),
    fields={
        "id": Field("c.id", "int"),
        "issue_id": Field("c.issue_id", "int"),
        "frame_id": Field("ci.frame", "int"),
        "job_id": Field("c.job_id", "int"),
        "owner": Field("ou.username"),
        "updated_date": Field("c.updated_at", "datetime"),
    },
    search=("owner",),
    simple_filters=("issue_id", "frame_id", "job_id", "owner"),
)


class IssueWrite(msgspec.Struct, kw_only=True):
    """IssueWriteRequest / PatchedIssueWriteRequest (left out = unchanged)."""

    frame: int | UnsetType = UNSET
    position: list[float] | UnsetType = UNSET
    job: int | UnsetType = UNSET
    assignee: int | UnsetType | None = UNSET
    message: str | UnsetType = UNSET
    resolved: bool | UnsetType = UNSET


class CommentWrite(msgspec.Struct, kw_only=True):
    """CommentWriteRequest / PatchedCommentWriteRequest."""

    issue: int | UnsetType = UNSET
    message: str | UnsetType = UNSET


class IssueRead(msgspec.Struct, frozen=True):
    id: int
    frame: int
    position: list[float]
    job: int
    owner: UserSummary | None
    assignee: UserSummary | None
    created_date: datetime
    updated_date: datetime
    resolved: bool
    comments: Summary


class CommentRead(msgspec.Struct, frozen=True):
    id: int
    issue: int
    owner: UserSummary | None
    message: str
    created_date: datetime
    updated_date: datetime


def issue_read(req: Linker, row: dict[str, Any]) -> IssueRead:
    return IssueRead(
        id=row["id"], frame=row["frame"], position=list(row["position"]), job=row["job_id"],
        owner=user_summary(req, row, "owner"), assignee=user_summary(req, row, "assignee"),
        created_date=row["created_at"], updated_date=row["updated_at"],
        resolved=row["resolved"],
        comments=Summary(url=req.absolute_url(f"/api/comments?issue_id={row['id']}"),
                         count=row["comments_count"]),
    )  # fmt: skip


def comment_read(req: Linker, row: dict[str, Any]) -> CommentRead:
    return CommentRead(
        id=row["id"], issue=row["issue_id"], owner=user_summary(req, row, "owner"),
        message=row["message"], created_date=row["created_at"], updated_date=row["updated_at"],
    )  # fmt: skip


def _service(req: ApiRequest) -> ReviewService:
    return ReviewService(req.container.store, req.container.pool)


def _required(value: Any, name: str) -> Any:
    if isinstance(value, UnsetType):
        raise bad_request(name, "This field is required.")
    return value


async def _issue(req: ApiRequest, issue_id: int, action: str) -> tuple[dict[str, Any], Any]:
    """The issue's row and its facts: 404 when it is gone or the user may not see it,
    403 when they may not do `action`."""
    async with req.container.pool.connection() as conn:
        row = await fetch_row(conn, ISSUES, issue_id)
        if row is None:
            raise not_found(f"Issue {issue_id} does not exist.")
        job = await access.job_facts(conn, row["job_id"])
    facts = policy.IssueFacts(job=job, owner_id=row["owner_id"], assignee_id=row["assignee_id"])
    if not policy.can_issue(req.principal, "view", facts):
        raise not_found(f"Issue {issue_id} does not exist.")
    if not policy.can_issue(req.principal, action, facts):
        raise permission_denied()
    return row, facts


async def _load_issue(req: ApiRequest, issue_id: int) -> IssueRead:
    async with req.container.pool.connection() as conn:
        row = await fetch_row(conn, ISSUES, issue_id)
    if row is None:
        raise not_found(f"Issue {issue_id} does not exist.")
    return issue_read(req, row)


async def _load_comment(req: ApiRequest, comment_id: int) -> CommentRead:
    async with req.container.pool.connection() as conn:
        row = await fetch_row(conn, COMMENTS, comment_id)
    if row is None:
        raise not_found(f"Comment {comment_id} does not exist.")
    return comment_read(req, row)


async def _assignee(req: ApiRequest, assignee: int | UnsetType | None) -> None:
    if isinstance(assignee, int):
        async with req.container.pool.connection() as conn:
            await access.existing_users(conn, {"assignee": assignee})


# --- issues ------------------------------------------------------------------------------


@router.get("/api/issues", query=ISSUES.query, response=Paginated[IssueRead],
            summary="List review issues")  # fmt: skip
async def list_issues(req: ApiRequest) -> Paginated[IssueRead]:
    page = await list_page(req, ISSUES, policy.visible_issues_sql(req.principal, "i"))
    return page.paginated([issue_read(req, row) for row in page.rows])


@router.post(
    "/api/issues",
    body=IssueWrite,
    response=IssueRead,
    status=201,
    summary="Open an issue on a frame of a job (the message is its first comment)",
)
async def create_issue(req: ApiRequest) -> IssueRead:
    body: IssueWrite = req.body
    job_id: int = _required(body.job, "job")
    frame: int = _required(body.frame, "frame")
    position: list[float] = _required(body.position, "position")
    message: str = _required(body.message, "message")
    async with req.container.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT start_frame, stop_frame, frames FROM jobs WHERE id = %s", [job_id]
        )
        job_row = await cur.fetchone()
        if job_row is None:
            raise bad_request("job", f'Invalid pk "{job_id}" - object does not exist.')
        facts = await access.job_facts(conn, job_id)
    if not policy.can_create_issue(req.principal, facts):  # unseen jobs too, as CVAT
        raise permission_denied()
    await _assignee(req, body.assignee)
    job = review.JobFrames(job_id=job_id, start_frame=job_row[0], stop_frame=job_row[1],
                           frames=job_row[2])  # fmt: skip
    # Decided once before ids are taken, so that bad input consumes none.
    review.create_issue(job, issue_id=0, comment_id=0, frame=frame, position=position,
                        owner_id=req.principal.id, message=message)  # fmt: skip
    service = _service(req)
    [issue_id] = await service.next_ids("issue_ids")
    [comment_id] = await service.next_ids("comment_ids")
    event = review.create_issue(
        job, issue_id=issue_id, comment_id=comment_id, frame=frame, position=position,
        owner_id=req.principal.id, message=message,
        assignee_id=body.assignee if isinstance(body.assignee, int) else None,
        resolved=body.resolved if isinstance(body.resolved, bool) else False,
    )  # fmt: skip
    await req.projected(await service.append(req.principal.id, job_id, event))
    return await _load_issue(req, issue_id)


@router.get("/api/issues/{id:int}", response=IssueRead, summary="A review issue")
async def get_issue(req: ApiRequest) -> IssueRead:
    row, _ = await _issue(req, req.path["id"], "view")
    return issue_read(req, row)


@router.patch("/api/issues/{id:int}", body=IssueWrite, response=IssueRead,
              summary="Resolve, reopen, reassign or move an issue")  # fmt: skip
async def update_issue(req: ApiRequest) -> IssueRead:
    issue_id: int = req.path["id"]
    row, _ = await _issue(req, issue_id, "update")
    body: IssueWrite = req.body
    for name, column in (("job", "job_id"), ("frame", "frame")):
        value = getattr(body, name)
        if not isinstance(value, UnsetType) and value != row[column]:
            raise bad_request(name, f"The {name} of an issue cannot change.")
    if not isinstance(body.message, UnsetType):  # CVAT: NotImplementedError, a 500
        raise bad_request("message", "An issue's message is its first comment: change it "
                          "through /api/comments.")  # fmt: skip
    await _assignee(req, body.assignee)
    event = review.update_issue(row["job_id"], issue_id, position=body.position,
                                assignee_id=body.assignee, resolved=body.resolved)  # fmt: skip
    if event is not None:
        await req.projected(await _service(req).append(req.principal.id, row["job_id"], event))
    return await _load_issue(req, issue_id)


@router.delete("/api/issues/{id:int}", status=204, summary="Remove an issue and its comments")
async def delete_issue(req: ApiRequest) -> None:
    issue_id: int = req.path["id"]
    row, _ = await _issue(req, issue_id, "delete")
    event = review.IssueDeleted(issue_id=issue_id, job_id=row["job_id"])
    await req.projected(await _service(req).append(req.principal.id, row["job_id"], event))


# --- comments ----------------------------------------------------------------------------


async def _comment(req: ApiRequest, comment_id: int, action: str) -> dict[str, Any]:
    async with req.container.pool.connection() as conn:
        row = await fetch_row(conn, COMMENTS, comment_id)
        if row is None:
            raise not_found(f"Comment {comment_id} does not exist.")
        issue = await fetch_row(conn, ISSUES, row["issue_id"])
        if issue is None:
            raise not_found(f"Comment {comment_id} does not exist.")
        job = await access.job_facts(conn, row["job_id"])
    facts = policy.IssueFacts(job=job, owner_id=issue["owner_id"],
                              assignee_id=issue["assignee_id"])  # fmt: skip
    if not policy.can_comment(req.principal, "view", facts, row["owner_id"]):
        raise not_found(f"Comment {comment_id} does not exist.")
    if not policy.can_comment(req.principal, action, facts, row["owner_id"]):
        raise permission_denied()
    return row


def _visible_comments(req: ApiRequest) -> Any:
    from psycopg import sql

    return sql.SQL("EXISTS (SELECT 1 FROM issues vi WHERE vi.id = c.issue_id AND {})").format(
        policy.visible_issues_sql(req.principal, "vi")
    )


@router.get("/api/comments", query=COMMENTS.query, response=Paginated[CommentRead],
            summary="List comments of review issues")  # fmt: skip
async def list_comments(req: ApiRequest) -> Paginated[CommentRead]:
    page = await list_page(req, COMMENTS, _visible_comments(req))
    return page.paginated([comment_read(req, row) for row in page.rows])


@router.post("/api/comments", body=CommentWrite, response=CommentRead, status=201,
             summary="Comment on an issue")  # fmt: skip
async def create_comment(req: ApiRequest) -> CommentRead:
    body: CommentWrite = req.body
    issue_id: int = _required(body.issue, "issue")
    message: str = _required(body.message, "message")
    async with req.container.pool.connection() as conn:
        issue = await fetch_row(conn, ISSUES, issue_id)
        job = None if issue is None else await access.job_facts(conn, issue["job_id"])
    if issue is None or job is None:
        raise bad_request("issue", f'Invalid pk "{issue_id}" - object does not exist.')
    facts = policy.IssueFacts(job=job, owner_id=issue["owner_id"],
                              assignee_id=issue["assignee_id"])  # fmt: skip
    if not policy.can_issue(req.principal, "comment", facts):  # unseen issues too
        raise permission_denied()
    review.check_message(message)
    service = _service(req)
    [comment_id] = await service.next_ids("comment_ids")
    event = review.create_comment(issue["job_id"], issue_id, comment_id=comment_id,
                                  owner_id=req.principal.id, message=message)  # fmt: skip
    await req.projected(await service.append(req.principal.id, issue["job_id"], event))
    return await _load_comment(req, comment_id)


@router.get("/api/comments/{id:int}", response=CommentRead, summary="A comment")
async def get_comment(req: ApiRequest) -> CommentRead:
    return comment_read(req, await _comment(req, req.path["id"], "view"))


@router.patch("/api/comments/{id:int}", body=CommentWrite, response=CommentRead,
              summary="Change a comment's message")  # fmt: skip
async def update_comment(req: ApiRequest) -> CommentRead:
    comment_id: int = req.path["id"]
    row = await _comment(req, comment_id, "update")
    body: CommentWrite = req.body
    if not isinstance(body.issue, UnsetType) and body.issue != row["issue_id"]:
        raise bad_request("issue", "A comment cannot move to another issue.")
    if isinstance(body.message, str):
        event = review.update_comment(row["job_id"], row["issue_id"], comment_id, body.message)
        await req.projected(await _service(req).append(req.principal.id, row["job_id"], event))
    return await _load_comment(req, comment_id)


@router.delete("/api/comments/{id:int}", status=204, summary="Remove a comment")
async def delete_comment(req: ApiRequest) -> None:
    comment_id: int = req.path["id"]
    row = await _comment(req, comment_id, "delete")
    event = review.CommentDeleted(comment_id=comment_id, issue_id=row["issue_id"],
                                  job_id=row["job_id"])  # fmt: skip
    await req.projected(await _service(req).append(req.principal.id, row["job_id"], event))
