"""Application service for projects, tasks and job workflow fields: load the stream's
state, decide, append with the expected revision (re-deciding on a concurrent write)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from backend.domain import tasks as domain
from backend.domain.commands import CreateJob
from backend.domain.errors import Conflict, NotFound
from backend.domain.events import Event, decode_event, encode_event
from backend.domain.job_workflow import WorkflowChange
from backend.domain.label_edits import LabelEdit, ids_needed
from backend.eventstore.port import (
    NO_STREAM,
    EventStore,
    NewEvent,
    WrongExpectedRevision,
)
from backend.services.job_annotations import EventMetadata, JobAnnotationsService

if TYPE_CHECKING:
    from backend.bootstrap import Container

State = TypeVar("State", domain.ProjectState, domain.TaskState)
_MAX_ATTEMPTS = 10


def _new(event: Event, meta: dict[str, Any]) -> NewEvent:
    type_, version, data = encode_event(event)
    return NewEvent(type=type_, version=version, data=data, metadata=meta)


class ResourceService:
    def __init__(
        self, store: EventStore, pool: AsyncConnectionPool, annotations: JobAnnotationsService
    ) -> None:
        self.store = store
        self.pool = pool
        self.annotations = annotations

    async def allocate(self, sequence: str, count: int) -> list[int]:
        if count <= 0:
            return []
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT nextval('{sequence}') FROM generate_series(1, %s)", [count]
            )
            return [int(r[0]) for r in await cur.fetchall()]

    async def _load(self, stream: str, state: State) -> State:
        for recorded in await self.store.read_stream(stream):
            state.apply(decode_event(recorded.type, recorded.version, recorded.data))
        return state

    async def _decide(
        self,
        stream: str,
        fresh: Callable[[], State],
        decide: Callable[[State], Sequence[Event]],
        actor: int | None,
    ) -> int:
        """Load, decide, append; on a concurrent write decide again. Returns the position."""
        meta = msgspec.to_builtins(EventMetadata(actor=actor, source="api"))
        for _ in range(_MAX_ATTEMPTS):
            state = await self._load(stream, fresh())
            events = decide(state)
            expected = NO_STREAM if state.revision < 0 else state.revision
            try:
                result = await self.store.append(stream, [_new(e, meta) for e in events], expected)
            except WrongExpectedRevision:
                continue
            return result.last_position
        raise Conflict(f"{stream} is changing too fast; retry", None)

    # -- projects ------------------------------------------------------------------------

    async def create_project(
        self, actor: int, fields: domain.ProjectFields, labels: list[LabelEdit]
    ) -> tuple[int, int]:
        (project_id,) = await self.allocate("project_ids", 1)
        ids = iter(await self.allocate("label_ids", ids_needed(labels)))
        event = domain.create_project(project_id, fields, labels, ids)
        position = await self._decide(
            f"project-{project_id}", domain.ProjectState, lambda s: [event], actor
        )
        return project_id, position

    async def update_project(
        self, actor: int, project_id: int, fields: domain.ProjectFields, labels: list[LabelEdit]
    ) -> int:
        ids = await self.allocate("label_ids", ids_needed(labels))
        return await self._decide(
            f"project-{project_id}",
            lambda: domain.ProjectState(project_id=project_id),
            lambda s: [domain.update_project(s, fields, labels, iter(ids))],
            actor,
        )

    async def delete_project(self, actor: int, project_id: int, task_ids: list[int]) -> int:
        """Deletes the project's tasks first (CVAT does), then the project."""
        position = 0
        for task_id in task_ids:
            try:
                position = await self.delete_task(actor, task_id)
            except NotFound:
                continue  # already gone
        return max(
            position,
            await self._decide(
                f"project-{project_id}",
                lambda: domain.ProjectState(project_id=project_id),
                lambda s: [domain.delete_project(s)],
                actor,
            ),
        )

    # -- tasks ---------------------------------------------------------------------------

    async def create_task(
        self,
        actor: int,
        fields: domain.TaskFields,
        labels: list[LabelEdit],
        *,
        segment_size: int,
        overlap: int | None,
    ) -> tuple[int, int]:
        (task_id,) = await self.allocate("task_ids", 1)
        ids = iter(await self.allocate("label_ids", ids_needed(labels)))
        event = domain.create_task(
            task_id, fields, labels, ids, segment_size=segment_size, overlap=overlap
        )
        position = await self._decide(f"task-{task_id}", domain.TaskState, lambda s: [event], actor)
        return task_id, position

    async def update_task(
        self, actor: int, task_id: int, fields: domain.TaskFields, labels: list[LabelEdit]
    ) -> int:
        ids = await self.allocate("label_ids", ids_needed(labels))
        return await self._decide(
            f"task-{task_id}",
            lambda: domain.TaskState(task_id=task_id),
            lambda s: [domain.update_task(s, fields, labels, iter(ids))],
            actor,
        )

    async def delete_task(self, actor: int, task_id: int) -> int:
        return await self._decide(
            f"task-{task_id}",
            lambda: domain.TaskState(task_id=task_id),
            lambda s: [domain.delete_task(s)],
            actor,
        )

    async def attach_data(self, actor: int, task_id: int, data: domain.TaskData) -> int:
        """Record the task's frames and cut them into jobs, then start each job's stream.
        The task's event decides; the job streams follow (JobCreated is idempotent here:
        re-running after a crash finds the streams that exist and starts the others)."""
        stream = f"task-{task_id}"
        state = await self._load(stream, domain.TaskState(task_id=task_id))
        if state.data is None:
            count = (
                domain.ids_for_jobs(len(data.frames), state.segment_size, state.overlap, data.mode)
                if state.exists
                else 0
            )
            ids = await self.allocate("job_ids", count)
            await self._decide(
                stream,
                lambda: domain.TaskState(task_id=task_id),
                lambda s: [domain.attach_data(s, data, iter(ids))],
                actor,
            )
            state = await self._load(stream, domain.TaskState(task_id=task_id))
        return await self.start_job_streams(actor, state)

    async def start_job_streams(self, actor: int | None, state: domain.TaskState) -> int:
        position = 0
        if state.data is None:
            return position
        attached = await self._attached(state.task_id)
        meta = EventMetadata(actor=actor, source="api")
        for job in attached.jobs:
            if await self.store.stream_revision(f"job-{job.job_id}") is not None:
                continue
            command = CreateJob(
                job_id=job.job_id, task_id=state.task_id,
                start_frame=job.start_frame, stop_frame=job.stop_frame,
            )  # fmt: skip
            try:
                outcome = await self.annotations.create_job(command, meta)
            except Conflict:
                continue  # created meanwhile
            position = max(position, outcome.position)
        return position

    async def ensure_job_stream(self, job_id: int) -> None:
        """Start the stream of a job that its task's data created, if it is missing."""
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT task_id FROM jobs WHERE id = %s", [job_id])
            row = await cur.fetchone()
        if row is not None:
            state = await self._load(f"task-{row[0]}", domain.TaskState(task_id=row[0]))
            await self.start_job_streams(None, state)

    async def _attached(self, task_id: int) -> domain.TaskDataAttached:
        for recorded in await self.store.read_stream(f"task-{task_id}"):
            if recorded.type == "TaskDataAttached":
                event = decode_event(recorded.type, recorded.version, recorded.data)
                assert isinstance(event, domain.TaskDataAttached)
                return event
        raise NotFound(f"task {task_id} has no data")

    # -- jobs ----------------------------------------------------------------------------

    async def update_job(self, actor: int | None, job_id: int, change: WorkflowChange) -> int:
        """Stage, state, assignee: decided on the job stream's own state (CVAT's rules,
        backend/domain/job_workflow.py). Returns the position to wait for (0: no change)."""
        meta = EventMetadata(actor=actor, source="api")
        return (await self.annotations.update_workflow(job_id, change, meta)).position


async def get_task(conn: Any, task_id: int) -> dict[str, Any] | None:
    """The `tasks` read-model row of a task, or None."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT * FROM tasks WHERE id = %s", [task_id])
        row: dict[str, Any] | None = await cur.fetchone()
        return row


async def attach_task_data(container: Container, task_id: int, data: Any, actor_id: int) -> int:
    """For the media pipeline: record a task's frames (a TaskData, or any struct with the
    same fields) and create its jobs; returns the global position to wait for."""
    spec = msgspec.convert(msgspec.to_builtins(data), domain.TaskData)
    return await container.resources.attach_data(actor_id, task_id, spec)
