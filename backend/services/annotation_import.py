"""Write imported annotations: replace a job's annotations, or a task's (split across its
jobs by frame range, as a task PUT is), with ONE ReplaceAnnotations per job, or add them
(import_mode=append: ONE CreateObjects per job). Every job's batch is decided first, so a
file that fails anywhere changes nothing; the events carry source "import", the request id
and the import's report (format, file, what this job got, what was skipped), so the import
shows in history as one change per job and the undo API takes it back."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import msgspec

from backend.domain.annotations import CvatAnnotations
from backend.domain.commands import Command, CreateObjects, ReplaceAnnotations
from backend.domain.errors import DomainError
from backend.services.job_annotations import EventMetadata, Outcome
from backend.services.labels import labels_for_task
from backend.services.task_annotations import JobPart, JobRange, renamed, split

if TYPE_CHECKING:
    from backend.bootstrap import Container


async def _jobs(container: Container, task_id: int) -> list[JobRange]:
    async with container.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, start_frame, stop_frame FROM jobs"
            " WHERE task_id = %s AND type = 'annotation' ORDER BY start_frame, id",
            [task_id],
        )
        return [JobRange(r[0], r[1], r[2]) for r in await cur.fetchall()]


async def replace_annotations(
    container: Container, task_id: int, job_id: int | None, data: CvatAnnotations,
    metadata: EventMetadata, *, append: bool = False, report: dict[str, Any] | None = None,
) -> list[Outcome]:  # fmt: skip
    """Replace the job's (job_id) or the whole task's annotations with `data` (or add
    `data` to them: `append`). `report` goes into each event's metadata with the job's own
    counts. Raises DomainError naming the object (its index in `data`) and appends nothing
    then."""
    jobs = await _jobs(container, task_id)
    if job_id is not None:
        jobs = [job for job in jobs if job.job_id == job_id]
        if not jobs:
            raise DomainError(f"job {job_id} is not an annotation job of task {task_id}")
    async with container.pool.connection() as conn:
        labels = await labels_for_task(conn, task_id)
    parts = split(jobs, data.shapes, data.tracks, data.tags)
    command = CreateObjects if append else ReplaceAnnotations
    batches: list[tuple[int, list[Command], JobPart]] = [
        (job.job_id, [command(shapes=p.shapes, tracks=p.tracks, tags=p.tags)], p)
        for job in jobs
        for p in [parts[job.job_id]]
    ]
    service = container.annotations
    for job, commands, part in batches:
        state = await service.load(job)
        try:
            state.decide(commands, labels, itertools.count(-(1 << 62)))
        except DomainError as error:
            raise renamed(error, part) from None
    outcomes = []
    for job, commands, part in batches:
        if report is not None:
            counts = {
                "shapes": len(part.shapes),
                "tracks": len(part.tracks),
                "tags": len(part.tags),
            }
            metadata = msgspec.structs.replace(metadata, report={**report, **counts})
        try:
            outcomes.append(await service.execute(job, commands, labels, metadata))
        except DomainError as error:
            raise renamed(error, part) from None
    return outcomes
