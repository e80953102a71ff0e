"""Loading the facts the permission policy decides on, from the read models, and the
checks every resource endpoint makes (404 when the resource does not exist, 403 when the
policy refuses)."""

from __future__ import annotations

from typing import Any

from backend.api.errors import not_found
from backend.iam import policy
from backend.iam.principal import User

_PROJECT = (
    "SELECT p.owner_id, p.assignee_id,"
    " coalesce((SELECT array_agg(t.assignee_id) FROM tasks t WHERE t.project_id = p.id"
    "   AND t.assignee_id IS NOT NULL), '{}'),"
    " coalesce((SELECT array_agg(t.owner_id) FROM tasks t WHERE t.project_id = p.id"
    "   AND t.owner_id IS NOT NULL), '{}'),"
    " coalesce((SELECT array_agg(j.assignee_id) FROM jobs j JOIN tasks t ON t.id = j.task_id"
    "   WHERE t.project_id = p.id AND j.assignee_id IS NOT NULL), '{}')"
    " FROM projects p WHERE p.id = %s"
)
_TASK = (
    "SELECT t.owner_id, t.assignee_id, p.owner_id, p.assignee_id,"
    " coalesce((SELECT array_agg(j.assignee_id) FROM jobs j WHERE j.task_id = t.id"
    "   AND j.assignee_id IS NOT NULL), '{}')"
    " FROM tasks t LEFT JOIN projects p ON p.id = t.project_id WHERE t.id = %s"
)
_JOB = (
    "SELECT j.assignee_id, t.owner_id, t.assignee_id, p.owner_id, p.assignee_id, j.stage"
    " FROM jobs j JOIN tasks t ON t.id = j.task_id LEFT JOIN projects p ON p.id = t.project_id"
    " WHERE j.id = %s"
)


async def project_facts(conn: Any, project_id: int) -> policy.ProjectFacts:
    row = await (await conn.execute(_PROJECT, [project_id])).fetchone()
    if row is None:
        raise not_found()
    return policy.ProjectFacts(
        owner_id=row[0], assignee_id=row[1], task_assignee_ids=frozenset(row[2]),
        task_owner_ids=frozenset(row[3]), job_assignee_ids=frozenset(row[4]),
    )  # fmt: skip


async def task_facts(conn: Any, task_id: int) -> policy.TaskFacts:
    row = await (await conn.execute(_TASK, [task_id])).fetchone()
    if row is None:
        raise not_found()
    return policy.TaskFacts(
        owner_id=row[0], assignee_id=row[1], project_owner_id=row[2],
        project_assignee_id=row[3], job_assignee_ids=frozenset(row[4]),
    )  # fmt: skip


async def job_facts(conn: Any, job_id: int) -> policy.JobFacts:
    row = await (await conn.execute(_JOB, [job_id])).fetchone()
    if row is None:
        raise not_found()
    return policy.JobFacts(
        assignee_id=row[0], task_owner_id=row[1], task_assignee_id=row[2],
        project_owner_id=row[3], project_assignee_id=row[4], stage=row[5],
    )  # fmt: skip


async def check_project(conn: Any, user: User, action: str, project_id: int) -> None:
    facts = await project_facts(conn, project_id)
    _hide_or_refuse(user, action, facts)


async def check_task(conn: Any, user: User, action: str, task_id: int) -> None:
    _hide_or_refuse(user, action, await task_facts(conn, task_id))


async def check_job(conn: Any, user: User, action: str, job_id: int) -> None:
    _hide_or_refuse(user, action, await job_facts(conn, job_id))


async def annotation_lock(conn: Any, user: User, job_id: int) -> str | None:
    """None when the user may edit the job's annotations, else why not (an observer:
    the reason the policy gives); 404 when they may not even see the job."""
    facts = await job_facts(conn, job_id)
    if not policy.can(user, "view", facts):
        raise not_found()
    return policy.refusal(user, "update:annotations", facts)


def _hide_or_refuse(user: User, action: str, facts: policy.Facts) -> None:
    """What a user may not even see is a 404 (as CVAT answers); otherwise a refused
    action is a 403."""
    if not policy.can(user, "view", facts):
        raise not_found()
    policy.check(user, action, facts)


async def existing_users(conn: Any, ids: dict[str, int | None]) -> None:
    """400 naming the field when an owner_id/assignee_id names no user."""
    from backend.api.errors import bad_request

    for field, user_id in ids.items():
        if user_id is None:
            continue
        row = await (await conn.execute("SELECT 1 FROM users WHERE id = %s", [user_id])).fetchone()
        if row is None:
            raise bad_request(field, f'Invalid pk "{user_id}" - object does not exist.')
