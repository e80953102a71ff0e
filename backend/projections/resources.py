"""Read models `projects`, `tasks` and `labels`, from the project and task streams."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from backend.domain.events import Event, decode_event
from backend.domain.labels import LabelSpec
from backend.domain.tasks import (
    ProjectCreated,
    ProjectDeleted,
    ProjectUpdated,
    TaskCreated,
    TaskDataAttached,
    TaskDeleted,
    TaskUpdated,
)
from backend.eventstore.port import RecordedEvent

Conn = psycopg.AsyncConnection[tuple[Any, ...]]
_encode = msgspec.json.Encoder().encode
_STREAMS = ("project-", "task-")
_JSON_COLUMNS = frozenset({"source_storage", "target_storage", "data"})


def _value(column: str, value: Any) -> Any:
    if column in _JSON_COLUMNS and value is not None:
        return Jsonb(msgspec.to_builtins(value))
    return value


async def _insert(conn: Conn, table: str, values: dict[str, Any]) -> None:
    columns = list(values)
    await conn.execute(
        sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (id) DO NOTHING").format(
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        ),
        [_value(c, values[c]) for c in columns],
    )


async def _update(conn: Conn, table: str, row_id: int, values: dict[str, Any]) -> None:
    if not values:
        return
    await conn.execute(
        sql.SQL("UPDATE {} SET {} WHERE id = %s").format(
            sql.Identifier(table),
            sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in values),
        ),
        [*(_value(c, v) for c, v in values.items()), row_id],
    )


def _changes(fields: msgspec.Struct, at: datetime) -> dict[str, Any]:
    """The fields an event sets (UNSET ones are left out by to_builtins), plus bookkeeping."""
    changes: dict[str, Any] = {name: getattr(fields, name) for name in msgspec.to_builtins(fields)}
    if "assignee_id" in changes:
        changes["assignee_updated_at"] = at
    return changes


async def _replace_labels(
    conn: Conn, owner: str, owner_id: int, labels: Sequence[LabelSpec]
) -> None:
    await conn.execute(
        sql.SQL("DELETE FROM labels WHERE {} = %s").format(sql.Identifier(owner)), [owner_id]
    )
    rows = []
    for position, label in enumerate(labels):
        for sub_position, item in enumerate([label, *label.sublabels]):
            rows.append(
                (item.id, owner_id, label.id if item is not label else None,
                 position * 1000 + sub_position, item.name, item.color, item.type, item.svg,
                 _encode(item.attributes).decode())
            )  # fmt: skip
    if rows:
        async with conn.cursor() as cur:
            await cur.executemany(
                sql.SQL(
                    "INSERT INTO labels (id, {}, parent_id, position, name, color, type, svg,"
                    " attributes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)"
                ).format(sql.Identifier(owner)),
                rows,
            )


class ResourcesProjection:
    name = "resources"
    tables: tuple[str, ...] = ("projects", "tasks", "labels")

    async def apply(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        for recorded in events:
            if recorded.stream_id.startswith(_STREAMS):
                event = decode_event(recorded.type, recorded.version, recorded.data)
                await self._apply(conn, event, recorded.recorded_at)

    async def _apply(self, conn: Conn, event: Event, at: datetime) -> None:
        if isinstance(event, ProjectCreated):
            await _insert(
                conn, "projects",
                {"id": event.project_id, **_changes(event.fields, at), "created_at": at,
                 "updated_at": at},
            )  # fmt: skip
            await _replace_labels(conn, "project_id", event.project_id, event.labels)
        elif isinstance(event, ProjectUpdated):
            await _update(
                conn, "projects", event.project_id, {**_changes(event.fields, at), "updated_at": at}
            )
            if isinstance(event.labels, list):
                await _replace_labels(conn, "project_id", event.project_id, event.labels)
        elif isinstance(event, ProjectDeleted):
            await conn.execute("DELETE FROM projects WHERE id = %s", [event.project_id])
            await conn.execute("DELETE FROM labels WHERE project_id = %s", [event.project_id])
        elif isinstance(event, TaskCreated):
            await _insert(
                conn, "tasks",
                {"id": event.task_id, **_changes(event.fields, at),
                 "segment_size": event.segment_size, "overlap": event.overlap,
                 "created_at": at, "updated_at": at},
            )  # fmt: skip
            await _replace_labels(conn, "task_id", event.task_id, event.labels)
        elif isinstance(event, TaskUpdated):
            await _update(
                conn, "tasks", event.task_id, {**_changes(event.fields, at), "updated_at": at}
            )
            if isinstance(event.labels, list):
                await _replace_labels(conn, "task_id", event.task_id, event.labels)
        elif isinstance(event, TaskDataAttached):
            data = event.data
            # The read model keeps the data's settings, not its per-frame list: every task
            # list reads this column, and a long video has tens of thousands of frames.
            settings = {k: v for k, v in msgspec.to_builtins(data).items() if k != "frames"}
            await _update(
                conn, "tasks", event.task_id,
                {"size": len(data.frames), "mode": data.mode, "image_quality": data.image_quality,
                 "data_chunk_size": data.chunk_size, "data": settings,
                 "segment_size": event.segment_size, "overlap": event.overlap, "updated_at": at},
            )  # fmt: skip
        elif isinstance(event, TaskDeleted):
            await conn.execute("DELETE FROM tasks WHERE id = %s", [event.task_id])
            await conn.execute("DELETE FROM labels WHERE task_id = %s", [event.task_id])
