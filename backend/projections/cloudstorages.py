"""Read model `cloud_storages`, from the cloud storage streams. The credentials column
receives the sealed token exactly as the event carries it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from backend.domain.cloudstorages import (
    CloudStorageCreated,
    CloudStorageDeleted,
    CloudStorageFields,
    CloudStorageUpdated,
)
from backend.domain.events import decode_event
from backend.eventstore.port import RecordedEvent

Conn = psycopg.AsyncConnection[tuple[Any, ...]]
STREAM_PREFIX = "cloudstorage-"


def _columns(fields: CloudStorageFields) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(fields, name) for name in msgspec.to_builtins(fields)}
    if "manifests" in values:
        values["manifests"] = Jsonb(values["manifests"])
    return values


class CloudStoragesProjection:
    name = "cloud_storages"
    tables: tuple[str, ...] = ("cloud_storages",)

    async def apply(self, conn: Conn, events: Sequence[RecordedEvent]) -> None:
        for recorded in events:
            if recorded.stream_id.startswith(STREAM_PREFIX):
                event = decode_event(recorded.type, recorded.version, recorded.data)
                await self._apply(conn, event, recorded.recorded_at)

    async def _apply(self, conn: Conn, event: object, at: datetime) -> None:
        if isinstance(event, CloudStorageCreated):
            values = {"id": event.cloud_storage_id, **_columns(event.fields),
                      "created_at": at, "updated_at": at}  # fmt: skip
            await conn.execute(
                sql.SQL(
                    "INSERT INTO cloud_storages ({}) VALUES ({}) ON CONFLICT (id) DO NOTHING"
                ).format(
                    sql.SQL(", ").join(map(sql.Identifier, values)),
                    sql.SQL(", ").join(sql.Placeholder() * len(values)),
                ),
                list(values.values()),
            )
        elif isinstance(event, CloudStorageUpdated):
            values = {**_columns(event.fields), "updated_at": at}
            await conn.execute(
                sql.SQL("UPDATE cloud_storages SET {} WHERE id = %s").format(
                    sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in values)
                ),
                [*values.values(), event.cloud_storage_id],
            )
        elif isinstance(event, CloudStorageDeleted):
            await conn.execute("DELETE FROM cloud_storages WHERE id = %s", [event.cloud_storage_id])
