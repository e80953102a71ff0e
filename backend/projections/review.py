"""Read models `issues` and `comments`, from the review events of the job streams. A task
that is deleted takes the issues of its jobs with it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from msgspec import UnsetType
from psycopg.types.json import Jsonb

from backend.domain import review
from backend.domain.events import decode_event
from backend.domain.tasks import TaskDeleted
from backend.eventstore.port import RecordedEvent

Conn = psycopg.AsyncConnection[tuple[Any, ...]]
_REVIEW_TYPES = frozenset(cls.__name__ for cls in review.REVIEW_EVENTS)


class ReviewProjection:
    name = "review"
    tables: tuple[str, ...] = ("issues", "comments")

    async def apply(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        for recorded in events:
            if recorded.type in _REVIEW_TYPES or recorded.type == "TaskDeleted":
                event = decode_event(recorded.type, recorded.version, recorded.data)
                await self._apply(conn, event, recorded.recorded_at)

    async def _apply(self, conn: Conn, event: object, at: datetime) -> None:
        if isinstance(event, review.IssueCreated):
            await conn.execute(
                "INSERT INTO issues (id, job_id, frame, position, owner_id, assignee_id,"
                " resolved, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO NOTHING",
                [event.issue_id, event.job_id, event.frame, Jsonb(event.position),
                 event.owner_id, event.assignee_id, event.resolved, at, at],
            )  # fmt: skip
            await self._comment(conn, event.comment_id, event.issue_id, event.job_id,
                                event.owner_id, event.message, at)  # fmt: skip
        elif isinstance(event, review.IssueUpdated):
            changes: dict[str, Any] = {"updated_at": at}
            if not isinstance(event.position, UnsetType):
                changes["position"] = Jsonb(event.position)
            if not isinstance(event.assignee_id, UnsetType):
                changes["assignee_id"] = event.assignee_id
            if not isinstance(event.resolved, UnsetType):
                changes["resolved"] = event.resolved
            columns = ", ".join(f"{name} = %s" for name in changes)  # names are ours
            await conn.execute(
                f"UPDATE issues SET {columns} WHERE id = %s",
                [*changes.values(), event.issue_id],
            )
        elif isinstance(event, review.IssueDeleted):
            await conn.execute("DELETE FROM comments WHERE issue_id = %s", [event.issue_id])
            await conn.execute("DELETE FROM issues WHERE id = %s", [event.issue_id])
        elif isinstance(event, review.CommentCreated):
            await self._comment(conn, event.comment_id, event.issue_id, event.job_id,
                                event.owner_id, event.message, at)  # fmt: skip
            await conn.execute("UPDATE issues SET updated_at = %s WHERE id = %s",
                               [at, event.issue_id])  # fmt: skip
        elif isinstance(event, review.CommentUpdated):
            await conn.execute(
                "UPDATE comments SET message = %s, updated_at = %s WHERE id = %s",
                [event.message, at, event.comment_id],
            )
        elif isinstance(event, review.CommentDeleted):
            await conn.execute("DELETE FROM comments WHERE id = %s", [event.comment_id])
        elif isinstance(event, TaskDeleted) and event.job_ids:
            await conn.execute("DELETE FROM comments WHERE job_id = ANY(%s)", [event.job_ids])
            await conn.execute("DELETE FROM issues WHERE job_id = ANY(%s)", [event.job_ids])

    @staticmethod
    async def _comment(
        conn: Conn, comment_id: int, issue_id: int, job_id: int, owner_id: int, message: str,
        at: datetime,
    ) -> None:  # fmt: skip
        # Review events are appended without an expected revision (services/review.py): a
        # comment that races its issue's removal lands after IssueDeleted and is dropped.
        await conn.execute(
            "INSERT INTO comments (id, issue_id, job_id, owner_id, message, created_at,"
            " updated_at) SELECT %s, %s, %s, %s, %s, %s, %s"
            " WHERE EXISTS (SELECT 1 FROM issues WHERE id = %s) ON CONFLICT (id) DO NOTHING",
            [comment_id, issue_id, job_id, owner_id, message, at, at, issue_id],
        )
