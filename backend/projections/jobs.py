"""Read model `jobs`: one row per job: its frames (from the task's TaskDataAttached, or the
job stream's JobCreated), its workflow fields, and the revision its stream has reached."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
import psycopg
from msgspec import UnsetType

from backend.domain.events import JobCreated, JobUpdated, decode_event
from backend.domain.tasks import TaskDataAttached, TaskDeleted
from backend.eventstore.port import RecordedEvent

JOB_STREAM_PREFIX = "job-"
_INSERT = (
    "INSERT INTO jobs (id, task_id, start_frame, stop_frame, frames, revision, created_at,"
    " updated_at) VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s) ON CONFLICT (id) DO NOTHING"
)
# Events of the task stream this read model needs.
_TASK_EVENTS = frozenset({"TaskDataAttached", "TaskDeleted"})


def job_id_of(stream_id: str) -> int | None:
    if not stream_id.startswith(JOB_STREAM_PREFIX):
        return None
    suffix = stream_id[len(JOB_STREAM_PREFIX) :]
    return int(suffix) if suffix.isdigit() else None


class JobsProjection:
    name = "jobs"
    tables: tuple[str, ...] = ("jobs",)

    async def apply(
        self, conn: psycopg.AsyncConnection[tuple[Any, ...]], events: Sequence[RecordedEvent]
    ) -> None:
        # The stream revision is written once per job per batch (a batch of 1,000 single
        # edits of one job is one UPDATE, not 1,000); rows are created and workflow fields
        # changed in event order.
        touched: dict[int, tuple[int, datetime]] = {}
        async with conn.cursor() as cur:
            for event in events:
                if event.stream_id.startswith("task-") and event.type in _TASK_EVENTS:
                    await self._task_event(cur, event)
                    continue
                job_id = job_id_of(event.stream_id)
                if job_id is None:
                    continue
                if event.type == "JobCreated":
                    job = decode_event(event.type, event.version, event.data)
                    assert isinstance(job, JobCreated)
                    frames = None if job.frames is None else msgspec.json.encode(job.frames)
                    await cur.execute(
                        _INSERT,
                        [job.job_id, job.task_id, job.start_frame, job.stop_frame,
                         None if frames is None else frames.decode(), event.revision,
                         event.recorded_at, event.recorded_at],
                    )  # fmt: skip
                elif event.type == "JobUpdated":
                    update = decode_event(event.type, event.version, event.data)
                    assert isinstance(update, JobUpdated)
                    await self._job_updated(cur, update, event)
                touched[job_id] = (event.revision, event.recorded_at)
            if touched:
                await cur.executemany(
                    "UPDATE jobs SET revision = %s, updated_at = %s WHERE id = %s",
                    [(rev, at, job_id) for job_id, (rev, at) in touched.items()],
                )

    async def _task_event(
        self, cur: psycopg.AsyncCursor[tuple[Any, ...]], event: RecordedEvent
    ) -> None:
        decoded = decode_event(event.type, event.version, event.data)
        if isinstance(decoded, TaskDataAttached):
            # The task decided the jobs; their streams start with JobCreated right after
            # (revision 0), which this row then already reflects.
            await cur.executemany(
                _INSERT,
                [(j.job_id, decoded.task_id, j.start_frame, j.stop_frame, None, 0,
                  event.recorded_at, event.recorded_at) for j in decoded.jobs],
            )  # fmt: skip
        elif isinstance(decoded, TaskDeleted) and decoded.job_ids:
            await cur.execute("DELETE FROM jobs WHERE id = ANY(%s)", [decoded.job_ids])

    async def _job_updated(
        self, cur: psycopg.AsyncCursor[tuple[Any, ...]], update: JobUpdated, event: RecordedEvent
    ) -> None:
        values: dict[str, Any] = {}
        for name in ("stage", "state", "assignee_id"):
            value = getattr(update, name)
            if not isinstance(value, UnsetType):
                values[name] = value
        if "assignee_id" in values:
            values["assignee_updated_at"] = event.recorded_at
        if values:
            await cur.execute(
                psycopg.sql.SQL("UPDATE jobs SET {} WHERE id = %s").format(
                    psycopg.sql.SQL(", ").join(
                        psycopg.sql.SQL("{} = %s").format(psycopg.sql.Identifier(c)) for c in values
                    )
                ),
                [*values.values(), update.job_id],
            )
