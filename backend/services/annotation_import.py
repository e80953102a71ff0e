"""Write imported annotations: replace a job's annotations, or a task's (split across its
jobs by frame range, as a task PUT is), with ONE ReplaceAnnotations per job. Every job's
batch is decided first, so a file that fails anywhere changes nothing; the events carry
source "import" and the request id, so the import shows in history as one change per job
and the undo API takes it back."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from backend.domain.annotations import CvatAnnotations
from backend.domain.commands import Command, ReplaceAnnotations
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
    metadata: EventMetadata,
) -> list[Outcome]:  # fmt: skip
    """Replace the job's (job_id) or the whole task's annotations with `data`. Raises
    DomainError naming the object (its index in `data`) and appends nothing then."""
    jobs = await _jobs(container, task_id)
    if job_id is not None:
        jobs = [job for job in jobs if job.job_id == job_id]
        if not jobs:
            raise DomainError(f"job {job_id} is not an annotation job of task {task_id}")
    async with container.pool.connection() as conn:
        labels = await labels_for_task(conn, task_id)
    parts = split(jobs, data.shapes, data.tracks, data.tags)
    batches: list[tuple[int, list[Command], JobPart]] = [
        (
            job.job_id,
            [ReplaceAnnotations(shapes=p.shapes, tracks=p.tracks, tags=p.tags)],
            p,
        )
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
        try:
            outcomes.append(await service.execute(job, commands, labels, metadata))
        except DomainError as error:
            raise renamed(error, part) from None
    return outcomes
