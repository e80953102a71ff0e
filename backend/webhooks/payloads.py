"""The objects webhook payloads carry, exactly as the REST API returns them (CVAT sends its
ProjectRead, TaskRead, JobRead, IssueRead and CommentRead): each is read with the
resource's own query and representation function, never a second serializer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import psycopg

from backend.api.jobs import JOBS
from backend.api.lists import Resource, fetch_row
from backend.api.projects import PROJECTS
from backend.api.representations import (
    Linker,
    job_read,
    project_read,
    task_read,
    user_columns,
    user_summary,
)
from backend.api.review import COMMENTS, ISSUES, comment_read, issue_read
from backend.api.tasks import TASKS

Conn = psycopg.AsyncConnection[Any]
Reader = tuple[Resource, Callable[[Linker, dict[str, Any]], msgspec.Struct]]

READERS: dict[str, Reader] = {
    "project": (PROJECTS, project_read),
    "task": (TASKS, task_read),
    "job": (JOBS, job_read),
    "issue": (ISSUES, issue_read),
    "comment": (COMMENTS, comment_read),
}

# Where each kind's project is (the webhooks of that project receive its events).
_PROJECT_OF = {
    "project": "SELECT id FROM projects WHERE id = %s",
    "task": "SELECT project_id FROM tasks WHERE id = %s",
    "job": "SELECT t.project_id FROM jobs j JOIN tasks t ON t.id = j.task_id WHERE j.id = %s",
    "issue": "SELECT t.project_id FROM issues i JOIN jobs j ON j.id = i.job_id"
    " JOIN tasks t ON t.id = j.task_id WHERE i.id = %s",
    "comment": "SELECT t.project_id FROM comments c JOIN jobs j ON j.id = c.job_id"
    " JOIN tasks t ON t.id = j.task_id WHERE c.id = %s",
}


async def read_object(
    conn: Conn, linker: Linker, kind: str, object_id: int
) -> dict[str, Any] | None:
    """The object as GET /api/{kind}s/{id} returns it (JSON-ready), None when it is gone."""
    resource, read = READERS[kind]
    row = await fetch_row(conn, resource, object_id)
    if row is None:
        return None
    out: dict[str, Any] = msgspec.to_builtins(read(linker, row))
    return out


async def project_of(conn: Conn, kind: str, object_id: int) -> int | None:
    cur = await conn.execute(_PROJECT_OF[kind], [object_id])
    row = await cur.fetchone()
    return int(row[0]) if row and row[0] is not None else None


async def sender(conn: Conn, linker: Linker, user_id: object) -> dict[str, Any] | None:
    """CVAT's `sender`: a summary of the user who made the change (BasicUserSerializer)."""
    if not isinstance(user_id, int):
        return None
    async with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        await cur.execute(
            "SELECT u.id AS sender_id, " + user_columns("u", "sender") + " FROM users u"
            " WHERE u.id = %s",
            [user_id],
        )
        row = await cur.fetchone()
    found = user_summary(linker, row, "sender") if row else None
    return msgspec.to_builtins(found) if found else None


def before_update(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """CVAT's `before_update`: the old value of every field whose serialized value changed
    (labels left out, as CVAT leaves them)."""
    return {k: old.get(k) for k, v in new.items() if k != "labels" and old.get(k) != v}
