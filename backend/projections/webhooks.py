"""Webhooks from the log, in order: the `webhooks` read model (the `webhook-{id}` streams)
and `webhook_outbox`, every payload each webhook must receive.

A payload carries the object as the REST API shows it (CVAT's ProjectRead, TaskRead ...),
read from the read models, so it must see them exactly as of its event. Two projections
share that work around the resource projections: `webhook_snapshots` runs before them and
keeps the objects an update or deletion is about to change (CVAT's pre_save/pre_delete),
`webhooks` runs after them and reads the objects as the event left them, then writes the
outbox. `boundary` gives each followed event a projector step of its own while a webhook
is active, so no later event of the same batch is already in the read models.

Matching happens here, in the projector's transaction: a webhook gets exactly the events
recorded after it was created while it was active and listening to them. The outbox key
(webhook, position, seq) makes a re-applied event deliver nothing twice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import msgspec
import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from backend.api.representations import BaseUrl, Linker
from backend.domain.events import decode_event
from backend.domain.webhooks import WebhookCreated, WebhookDeleted, WebhookFields, WebhookUpdated
from backend.eventstore.port import RecordedEvent
from backend.webhooks import payloads
from backend.webhooks.delivery import NOTIFY_CHANNEL

Conn = psycopg.AsyncConnection[Any]
STREAM_PREFIX = "webhook-"

# The log events that create, update or delete an object webhooks follow. Attaching data
# saves the task in CVAT too (update:task); jobs are deleted with their task.
_KINDS = {"Project": "project", "Task": "task", "Job": "job", "Issue": "issue",
          "Comment": "comment"}  # fmt: skip
_ACTIONS = {"Created": "create", "Updated": "update", "Deleted": "delete"}
FOLLOWED = frozenset(
    f"{prefix}{suffix}" for prefix in _KINDS for suffix in _ACTIONS
    if f"{prefix}{suffix}" != "JobDeleted"
) | {"TaskDataAttached"}  # fmt: skip


class Change(NamedTuple):
    action: str  # create | update | delete
    kind: str
    object_id: int
    data: dict[str, Any]  # the event's own fields


def change_of(recorded: RecordedEvent) -> Change | None:
    """What a followed event does (read as plain JSON: only ids are needed, and they keep
    their names across event versions)."""
    if recorded.type not in FOLLOWED:
        return None
    data: dict[str, Any] = msgspec.json.decode(recorded.data)
    if recorded.type == "TaskDataAttached":
        return Change("update", "task", int(data["task_id"]), data)
    for prefix, kind in _KINDS.items():
        if recorded.type.startswith(prefix):
            action = _ACTIONS[recorded.type.removeprefix(prefix)]
            return Change(action, kind, int(data[f"{kind}_id"]), data)
    return None


async def any_active(conn: Conn) -> bool:
    cur = await conn.execute("SELECT EXISTS (SELECT 1 FROM webhooks WHERE is_active)")
    row = await cur.fetchone()
    return bool(row and row[0])


async def boundary(conn: Conn, events: Sequence[RecordedEvent]) -> int:
    """How many of `events` one projector step may apply: a followed event gets a step of
    its own while a webhook may want it (one is active, or one is created in this batch)."""
    first = next((i for i, e in enumerate(events) if e.type in FOLLOWED), None)
    if first is None:
        return len(events)
    if not any(e.stream_id.startswith(STREAM_PREFIX) for e in events) and not await any_active(
        conn
    ):
        return len(events)
    return first if first > 0 else 1


def _default_linker() -> Linker:
    from backend.settings import load_settings

    return BaseUrl(load_settings().base_url)


# --- before the resource projections: what an update or deletion is about to change ------

_CHILDREN = {
    # Deleting a task deletes its jobs with their issues and comments; deleting an issue,
    # its comments. Children first, as CVAT's cascade sends them.
    "task": [
        ("comment", "SELECT c.id FROM comments c JOIN jobs j ON j.id = c.job_id"
                    " WHERE j.task_id = %s ORDER BY c.id"),
        ("issue", "SELECT i.id FROM issues i JOIN jobs j ON j.id = i.job_id"
                  " WHERE j.task_id = %s ORDER BY i.id"),
        ("job", "SELECT id FROM jobs WHERE task_id = %s ORDER BY id"),
    ],
    "issue": [("comment", "SELECT id FROM comments WHERE issue_id = %s ORDER BY id")],
}  # fmt: skip


class WebhookSnapshotsProjection:
    name = "webhook_snapshots"
    tables: tuple[str, ...] = ()
    scratch_tables = ("webhook_snapshots",)  # per-step working rows: nothing to compare

    def __init__(self, linker: Linker | None = None) -> None:
        self.linker = linker or _default_linker()

    # No `boundary` of its own: the step's boundary is one decision for every projection, and
    # WebhooksProjection (always registered beside this one) makes it.

    async def apply(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        changes = [(r, c) for r in events if (c := change_of(r)) and c.action != "create"]
        if not changes or not await any_active(conn):
            return
        for recorded, change in changes:
            objects: list[tuple[str, int]] = []
            if change.action == "delete":
                for kind, query in _CHILDREN.get(change.kind, []):
                    cur = await conn.execute(query, [change.object_id])
                    objects += [(kind, int(row[0])) for row in await cur.fetchall()]
            objects.append((change.kind, change.object_id))
            for seq, (kind, object_id) in enumerate(objects):
                data = await payloads.read_object(conn, self.linker, kind, object_id)
                if data is None:
                    continue
                await conn.execute(
                    "INSERT INTO webhook_snapshots (position, seq, kind, id, project_id, data)"
                    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    [recorded.position, seq, kind, object_id,
                     await payloads.project_of(conn, kind, object_id), Jsonb(data)],
                )  # fmt: skip


# --- after them: the webhooks, and the outbox ----------------------------------------


def _columns(fields: WebhookFields) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(fields, name) for name in msgspec.to_builtins(fields)}
    if "events" in values:
        values["events"] = Jsonb(values["events"])
    return values


class Snapshot(NamedTuple):
    kind: str
    object_id: int
    project_id: int | None
    data: dict[str, Any]


class WebhooksProjection:
    name = "webhooks"
    tables: tuple[str, ...] = ("webhooks",)
    # Delivery state and payloads read from the other read models: a rebuild elsewhere
    # (vellum replay) writes them aside and compares nothing.
    scratch_tables = ("webhook_outbox", "webhook_cursors", "webhook_redeliveries")

    def __init__(self, linker: Linker | None = None) -> None:
        self.linker = linker or _default_linker()

    async def boundary(self, conn: Conn, events: Sequence[RecordedEvent]) -> int:
        return await boundary(conn, events)

    async def apply(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        active: bool | None = None
        for recorded in events:
            if recorded.stream_id.startswith(STREAM_PREFIX):
                event = decode_event(recorded.type, recorded.version, recorded.data)
                await self._webhook(conn, event, recorded)
                active = None
            elif (change := change_of(recorded)) is not None:
                snapshots = await _take_snapshots(conn, recorded.position)
                if active is None:
                    active = await any_active(conn)
                if active:
                    await self._outbox(conn, recorded, change, snapshots)

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
            for table in ("webhooks", "webhook_outbox", "webhook_cursors", "webhook_redeliveries"):
                column = "id" if table == "webhooks" else "webhook_id"
                await conn.execute(
                    sql.SQL("DELETE FROM {} WHERE {} = %s").format(
                        sql.Identifier(table), sql.Identifier(column)
                    ),
                    [event.webhook_id],
                )

    # --- the payloads --------------------------------------------------------------------

    async def _outbox(
        self, conn: Conn, recorded: RecordedEvent, change: Change, before: list[Snapshot]
    ) -> None:
        """CVAT's payloads for one event: {event, <kind>: the object, before_update (for
        updates: the old values of what changed), sender}, one outbox row per webhook of the
        object's project that is active and follows that event."""
        found: list[tuple[str, Snapshot, dict[str, Any] | None]] = []
        if change.action == "delete":
            found = [(f"delete:{s.kind}", s, None) for s in before]
        else:
            targets = [(change.kind, change.object_id)]
            if recorded.type == "IssueCreated":  # its first message is a comment of its own
                targets.append(("comment", int(change.data["comment_id"])))
            for kind, object_id in targets:
                data = await payloads.read_object(conn, self.linker, kind, object_id)
                if data is None:
                    continue
                project = await payloads.project_of(conn, kind, object_id)
                action = change.action if kind == change.kind else "create"
                old = next((s.data for s in before if (s.kind, s.object_id) == (kind, object_id)),
                           None)  # fmt: skip
                found.append((f"{action}:{kind}", Snapshot(kind, object_id, project, data), old))
        if not found:
            return
        sender = await payloads.sender(conn, self.linker, recorded.metadata.get("actor"))
        sent = 0
        for seq, (name, obj, old) in enumerate(found):
            if obj.project_id is None:
                continue
            payload: dict[str, Any] = {"event": name, obj.kind: obj.data}
            if old is not None and (changed := payloads.before_update(old, obj.data)):
                payload["before_update"] = changed
            payload["sender"] = sender
            cur = await conn.execute(
                "INSERT INTO webhook_outbox (webhook_id, position, seq, event, payload, created_at)"
                " SELECT id, %s, %s, %s, %s, %s FROM webhooks"
                " WHERE type = 'project' AND project_id = %s AND is_active AND events ? %s"
                " ON CONFLICT DO NOTHING",
                [recorded.position, seq, name, Jsonb(payload), recorded.recorded_at,
                 obj.project_id, name],
            )  # fmt: skip
            sent += cur.rowcount
        if sent:
            await conn.execute("SELECT pg_notify(%s, %s)", [NOTIFY_CHANNEL, str(recorded.position)])


async def _take_snapshots(conn: Conn, position: int) -> list[Snapshot]:
    """The objects as they were before the event at `position` (webhook_snapshots), removed
    as they are read: each is used by exactly one event."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "DELETE FROM webhook_snapshots WHERE position <= %s"
            " RETURNING position, seq, kind, id, project_id, data",
            [position],
        )
        rows = sorted(await cur.fetchall(), key=lambda r: r["seq"])
    return [
        Snapshot(r["kind"], int(r["id"]), r["project_id"], r["data"])
        for r in rows
        if r["position"] == position
    ]
