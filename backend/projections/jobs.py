"""Read model `jobs`: one row per job, with the revision its stream has reached."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec
import psycopg

from backend.domain.events import JobCreated, decode_event
from backend.eventstore.port import RecordedEvent

JOB_STREAM_PREFIX = "job-"


def job_id_of(stream_id: str) -> int | None:
    if not stream_id.startswith(JOB_STREAM_PREFIX):
        return None
    suffix = stream_id[len(JOB_STREAM_PREFIX) :]
    return int(suffix) if suffix.isdigit() else None


class JobsProjection:
    name = "jobs"
    tables: tuple[str, ...] = ("jobs",)

    async def apply(
        self, conn: psycopg.AsyncConnection[tuple[object, ...]], events: Sequence[RecordedEvent]
    ) -> None:
        created: list[tuple[object, ...]] = []
        touched: dict[int, tuple[int, datetime]] = {}
        for event in events:
            job_id = job_id_of(event.stream_id)
            if job_id is None:
                continue
            if event.type == "JobCreated":
                job = decode_event(event.type, event.version, event.data)
                assert isinstance(job, JobCreated)
                created.append(
                    (
                        job.job_id, job.task_id, job.start_frame, job.stop_frame,
                        None if job.frames is None else msgspec.json.encode(job.frames).decode(),
                        event.revision, event.recorded_at, event.recorded_at,
                    )
                )  # fmt: skip
            touched[job_id] = (event.revision, event.recorded_at)
        async with conn.cursor() as cur:
            if created:
                await cur.executemany(
                    "INSERT INTO jobs (id, task_id, start_frame, stop_frame, frames, revision,"
                    " created_at, updated_at) VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s)"
                    " ON CONFLICT (id) DO NOTHING",
                    created,
                )
            if touched:
                await cur.executemany(
                    "UPDATE jobs SET revision = %s, updated_at = %s WHERE id = %s",
                    [(rev, at, job_id) for job_id, (rev, at) in touched.items()],
                )
