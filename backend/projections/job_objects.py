"""Read model `job_objects`: one row per annotation object (shape, track, tag) of a job, in
CVAT's JSON shape. An event touches only its own rows, so a one-shape edit in a job of
50,000 shapes costs one row, never a rewrite of the job.

It applies events with the domain's own `apply_to_objects` on a mapping that holds only the
rows the batch patches, so the read model and the aggregate cannot disagree on semantics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import psycopg

from backend.domain.apply import affected_objects, apply_to_objects
from backend.domain.events import (
    ObjectsUpdated,
    TrackKeyframesChanged,
    decode_event,
    decode_job_event,
)
from backend.domain.objects import (
    AnnotationObject,
    Key,
    Kind,
    LabeledImage,
    LabeledShape,
    LabeledTrack,
)
from backend.domain.tasks import TaskDeleted
from backend.eventstore.port import RecordedEvent
from backend.projections.jobs import job_id_of

_DECODERS: dict[str, msgspec.json.Decoder[AnnotationObject]] = {
    "shape": msgspec.json.Decoder(LabeledShape),
    "track": msgspec.json.Decoder(LabeledTrack),
    "tag": msgspec.json.Decoder(LabeledImage),
}
_encode = msgspec.json.Encoder().encode
# Events that patch existing objects: the rows they touch must be loaded first.
_PATCHING = (ObjectsUpdated, TrackKeyframesChanged)


@dataclass
class _JobChanges:
    objects: dict[Key, AnnotationObject] = field(default_factory=dict)
    touched: set[Key] = field(default_factory=set)
    reset: bool = False  # every stored row of the job is void


class JobObjectsProjection:
    name = "job_objects"
    tables: tuple[str, ...] = ("job_objects",)

    async def apply(
        self, conn: psycopg.AsyncConnection[tuple[object, ...]], events: Sequence[RecordedEvent]
    ) -> None:
        decoded = [
            (job_id, decode_job_event(e.type, e.version, e.data))
            for e in events
            if (job_id := job_id_of(e.stream_id)) is not None
        ]
        # A deleted task takes its jobs' annotations with it (applied after this batch's
        # writes: its jobs' events all precede the deletion).
        gone_jobs = [
            job_id
            for e in events
            if e.type == "TaskDeleted"
            and e.stream_id.startswith("task-")
            and isinstance(deleted := decode_event(e.type, e.version, e.data), TaskDeleted)
            for job_id in deleted.job_ids
        ]
        jobs: dict[int, _JobChanges] = {}
        # Rows that events patch before any reset of their job in this batch: load them in
        # one query (after a reset the job's stored rows no longer matter).
        wanted: list[tuple[int, Key]] = []
        for job_id, event in decoded:
            changes = jobs.setdefault(job_id, _JobChanges())
            affected = affected_objects(event)
            if affected.resets:
                changes.reset = True
            elif isinstance(event, _PATCHING) and not changes.reset:
                wanted.extend((job_id, key) for key in affected.keys)
        for job_id, kind, object_id, data in await _load(conn, wanted):
            jobs[job_id].objects[kind, object_id] = _DECODERS[kind].decode(data)
        for changes in jobs.values():
            changes.reset = False
        for job_id, event in decoded:
            changes = jobs[job_id]
            affected = affected_objects(event)
            apply_to_objects(event, changes.objects)
            if affected.resets:
                changes.reset = True
                changes.touched = set(changes.objects)
            else:
                changes.touched |= affected.keys
        await _write(conn, jobs)
        if gone_jobs:
            await conn.execute("DELETE FROM job_objects WHERE job_id = ANY(%s)", [gone_jobs])


async def _load(
    conn: psycopg.AsyncConnection[tuple[object, ...]], wanted: list[tuple[int, Key]]
) -> list[tuple[int, Kind, int, str]]:
    if not wanted:
        return []
    cur = await conn.execute(
        "SELECT o.job_id, o.kind, o.object_id, o.data::text FROM job_objects o"
        " JOIN unnest(%s::bigint[], %s::text[], %s::bigint[]) AS w(job_id, kind, object_id)"
        " USING (job_id, kind, object_id)",
        [[j for j, _ in wanted], [k for _, (k, _) in wanted], [i for _, (_, i) in wanted]],
    )
    return await cur.fetchall()  # type: ignore[return-value]


async def _write(
    conn: psycopg.AsyncConnection[tuple[object, ...]], jobs: dict[int, _JobChanges]
) -> None:
    resets = [job_id for job_id, c in jobs.items() if c.reset]
    gone: list[tuple[int, str, int]] = []
    kept: list[tuple[int, str, int, int, str]] = []
    for job_id, changes in jobs.items():
        for kind, object_id in changes.touched:
            obj = changes.objects.get((kind, object_id))
            if obj is not None:
                kept.append((job_id, kind, object_id, obj.frame, _encode(obj).decode()))
            elif not changes.reset:  # after a reset the job's rows are deleted anyway
                gone.append((job_id, kind, object_id))
    if resets:
        await conn.execute("DELETE FROM job_objects WHERE job_id = ANY(%s)", [resets])
    if gone:
        await conn.execute(
            "DELETE FROM job_objects o USING unnest(%s::bigint[], %s::text[], %s::bigint[])"
            " AS g(job_id, kind, object_id)"
            " WHERE (o.job_id, o.kind, o.object_id) = (g.job_id, g.kind, g.object_id)",
            _columns(gone),
        )
    if kept:
        await conn.execute(
            "INSERT INTO job_objects (job_id, kind, object_id, frame, data)"
            " SELECT j, k, i, f, d::jsonb FROM unnest("
            "%b::bigint[], %b::text[], %b::bigint[], %b::int[], %b::text[]) AS u(j, k, i, f, d)"
            " ON CONFLICT (job_id, kind, object_id)"
            " DO UPDATE SET frame = excluded.frame, data = excluded.data",
            _columns(kept),
        )


def _columns(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows to the column arrays that unnest() takes: one parameter per column."""
    return [list(column) for column in zip(*rows, strict=True)]
