"""Read models of webhooks, from the log in order: `webhooks` (the `webhook-{id}` streams)
and `webhook_outbox`, every payload each webhook must receive.

Matching happens here, in log order and in the projector's transaction, so a webhook gets
exactly the events recorded after it was created while it was active and listening to
them, whatever the delivery loop is doing. `webhook_objects` keeps the last state of each
project, task and job (as the events describe it) to give updates their `before_update`.
Replaying rebuilds the outbox identically (its key is webhook, position, event), so a
replay delivers nothing twice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from backend.domain import tasks as t
from backend.domain.events import JobCreated, JobUpdated, decode_event
from backend.domain.webhooks import WebhookCreated, WebhookDeleted, WebhookFields, WebhookUpdated
from backend.eventstore.port import RecordedEvent

Conn = psycopg.AsyncConnection[tuple[Any, ...]]
STREAM_PREFIX = "webhook-"
_USERS = ("owner", "assignee")


def _columns(fields: WebhookFields) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(fields, name) for name in msgspec.to_builtins(fields)}
    if "events" in values:
        values["events"] = Jsonb(values["events"])
    return values


def _changes(fields: msgspec.Struct) -> dict[str, Any]:
    """The fields an event sets, named as CVAT names them (owner_id -> owner: {id})."""
    out: dict[str, Any] = {}
    for name, value in msgspec.to_builtins(fields).items():
        base = name.removesuffix("_id")
        out[base if base in _USERS else name] = (
            {"id": value} if base in _USERS and value is not None else value
        )
    return out


class WebhooksProjection:
    name = "webhooks"
    tables: tuple[str, ...] = ("webhooks", "webhook_objects")

    async def apply(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        for recorded in events:
            if recorded.stream_id.startswith(STREAM_PREFIX):
                event = decode_event(recorded.type, recorded.version, recorded.data)
                await self._webhook(conn, event, recorded)
            elif recorded.type in _RESOURCE_TYPES:
                event = decode_event(recorded.type, recorded.version, recorded.data)
                await self._resource(conn, event, recorded)
            elif recorded.type in _REVIEW_TYPES:
                # Read as plain JSON: the review events (backend/domain/review.py) are
                # followed by their stored shape, whatever module registers them.
                await self._resource(conn, msgspec.json.decode(recorded.data), recorded,
                                     review_type=recorded.type)  # fmt: skip

    # --- the webhooks themselves ---------------------------------------------------------

    async def _webhook(self, conn: Conn, event: object, recorded: RecordedEvent) -> None:
        at = recorded.recorded_at
        if isinstance(event, WebhookCreated):
            values = {"id": event.webhook_id, **_columns(event.fields),
                      "created_at": at, "updated_at": at}  # fmt: skip
            await conn.execute(
                sql.SQL("INSERT INTO webhooks ({}) VALUES ({}) ON CONFLICT (id) DO NOTHING").format(
                    sql.SQL(", ").join(map(sql.Identifier, values)),
                    sql.SQL(", ").join(sql.Placeholder() * len(values)),
                ),
                list(values.values()),
            )
            # Delivery starts after the event that created it.
            await conn.execute(
                "INSERT INTO webhook_cursors (webhook_id, position) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING",
                [event.webhook_id, recorded.position],
            )
        elif isinstance(event, WebhookUpdated):
            values = {**_columns(event.fields), "updated_at": at}
            await conn.execute(
                sql.SQL("UPDATE webhooks SET {} WHERE id = %s").format(
                    sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in values)
                ),
                [*values.values(), event.webhook_id],
            )
        elif isinstance(event, WebhookDeleted):
            # What it had left to receive goes with it; its delivery records stay.
            for table in ("webhooks", "webhook_outbox", "webhook_cursors"):
                column = "id" if table == "webhooks" else "webhook_id"
                await conn.execute(
                    sql.SQL("DELETE FROM {} WHERE {} = %s").format(
                        sql.Identifier(table), sql.Identifier(column)
                    ),
                    [event.webhook_id],
                )

    # --- the resources webhooks follow ---------------------------------------------------

    async def _resource(
        self, conn: Conn, event: object, recorded: RecordedEvent, review_type: str = ""
    ) -> None:
        found: Described | None
        if review_type:
            assert isinstance(event, dict)
            found = await _describe_review(conn, review_type, event)
        else:
            found = await _describe(conn, event)
        if found is None:
            return
        kind, object_id, action, changes, project_id = found
        cur = await conn.execute(
            "SELECT data, project_id FROM webhook_objects WHERE kind = %s AND id = %s",
            [kind, object_id],
        )
        row = await cur.fetchone()
        before: dict[str, Any] = dict(row[0]) if row else {}
        if project_id is None and row is not None:
            project_id = row[1]
        after = {**before, **changes, "id": object_id}
        if action == "delete":
            await conn.execute(
                "DELETE FROM webhook_objects WHERE kind = %s AND id = %s", [kind, object_id]
            )
        else:
            await conn.execute(
                "INSERT INTO webhook_objects (kind, id, project_id, data) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (kind, id) DO UPDATE SET project_id = excluded.project_id,"
                " data = excluded.data",
                [kind, object_id, project_id, Jsonb(after)],
            )
        if project_id is None:
            return
        name = f"{action}:{kind}"
        payload: dict[str, Any] = {"event": name, kind: before if action == "delete" else after}
        if action == "update":
            # CVAT's before_update: the old values of the fields that changed.
            payload["before_update"] = {
                k: before.get(k) for k, v in changes.items() if k != "id" and before.get(k) != v
            }
        payload["sender"] = await _sender(conn, recorded.metadata.get("actor"))
        await conn.execute(
            "INSERT INTO webhook_outbox (webhook_id, position, event, payload)"
            " SELECT id, %s, %s, %s FROM webhooks"
            " WHERE type = 'project' AND project_id = %s AND is_active AND events ? %s"
            " ON CONFLICT DO NOTHING",
            [recorded.position, name, Jsonb(payload), project_id, name],
        )


_RESOURCE_TYPES = frozenset({
    "ProjectCreated", "ProjectUpdated", "ProjectDeleted", "TaskCreated", "TaskUpdated",
    "TaskDeleted", "JobCreated", "JobUpdated",
})  # fmt: skip

Described = tuple[str, int, str, dict[str, Any], int | None]

_REVIEW_TYPES = frozenset({
    "IssueCreated", "IssueUpdated", "IssueDeleted",
    "CommentCreated", "CommentUpdated", "CommentDeleted",
})  # fmt: skip
_ACTIONS = {"Created": "create", "Updated": "update", "Deleted": "delete"}


async def _project_of_job(conn: Conn, job_id: int) -> int | None:
    cur = await conn.execute(
        "SELECT project_id FROM webhook_objects WHERE kind = 'job' AND id = %s", [job_id]
    )
    row = await cur.fetchone()
    return int(row[0]) if row and row[0] is not None else None


async def _describe_review(conn: Conn, event_type: str, data: dict[str, Any]) -> Described:
    """Issues and comments, named as CVAT's IssueRead / CommentRead name their fields."""
    kind = "issue" if event_type.startswith("Issue") else "comment"
    action = _ACTIONS[event_type.removeprefix("Issue").removeprefix("Comment")]
    object_id = int(data[f"{kind}_id"])
    changes: dict[str, Any] = {}
    for name, value in data.items():
        if name in (f"{kind}_id", "type", "comment_id" if kind == "issue" else ""):
            continue
        if name in ("owner_id", "assignee_id"):
            changes[name.removesuffix("_id")] = {"id": value} if value is not None else None
        elif name in ("job_id", "issue_id"):
            changes[name.removesuffix("_id")] = value
        elif not (kind == "issue" and name == "message"):  # the first comment, not the issue
            changes[name] = value
    return kind, object_id, action, changes, await _project_of_job(conn, int(data["job_id"]))


async def _project_of_task(conn: Conn, task_id: int) -> int | None:
    cur = await conn.execute(
        "SELECT project_id FROM webhook_objects WHERE kind = 'task' AND id = %s", [task_id]
    )
    row = await cur.fetchone()
    return int(row[0]) if row and row[0] is not None else None


async def _describe(conn: Conn, event: object) -> Described | None:
    """(object type, id, create|update|delete, the fields it sets, its project or None =
    unchanged) for the events webhooks follow."""
    if isinstance(event, t.ProjectCreated):
        return "project", event.project_id, "create", _changes(event.fields), event.project_id
    if isinstance(event, t.ProjectUpdated):
        return "project", event.project_id, "update", _changes(event.fields), event.project_id
    if isinstance(event, t.ProjectDeleted):
        return "project", event.project_id, "delete", {}, event.project_id
    if isinstance(event, t.TaskCreated | t.TaskUpdated):
        changes = _changes(event.fields)
        project = event.fields.project_id if isinstance(event.fields.project_id, int) else None
        action = "create" if isinstance(event, t.TaskCreated) else "update"
        return "task", event.task_id, action, changes, project
    if isinstance(event, t.TaskDeleted):
        return "task", event.task_id, "delete", {}, None
    if isinstance(event, JobCreated):
        changes = {
            "task_id": event.task_id, "start_frame": event.start_frame,
            "stop_frame": event.stop_frame, "stage": "annotation", "state": "new",
        }  # fmt: skip
        return "job", event.job_id, "create", changes, await _project_of_task(conn, event.task_id)
    if isinstance(event, JobUpdated):
        changes = {k: getattr(event, k) for k in ("stage", "state", "assignee_id")
                   if not isinstance(getattr(event, k), msgspec.UnsetType)}  # fmt: skip
        if "assignee_id" in changes:
            value = changes.pop("assignee_id")
            changes["assignee"] = {"id": value} if value is not None else None
        return "job", event.job_id, "update", changes, None
    return None


async def _sender(conn: Conn, actor: object) -> dict[str, Any] | None:
    if not isinstance(actor, int):
        return None
    cur = await conn.execute(
        "SELECT id, username, first_name, last_name FROM users WHERE id = %s", [actor]
    )
    row = await cur.fetchone()
    if row is None:
        return {"id": actor}
    return {"id": row[0], "username": row[1], "first_name": row[2], "last_name": row[3]}
