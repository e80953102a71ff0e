"""The task resource as the media code needs it: look a task or job up through the one
permission policy, and record a task's data once built.

Uses from backend/services/tasks.py (the task resource):
    async def get_task(conn, task_id: int) -> dict | None
        a row of the `tasks` read model (id, owner_id, assignee_id, project_id, size, ...)
    async def attach_task_data(container, task_id: int, data: TaskDataSpec,
                               actor_id: int) -> int
        appends TaskDataAttached, creates the jobs, returns the global position
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from backend.api import access
from backend.api.errors import not_found
from backend.media.spec import TaskDataSpec
from backend.projections.runner import ProjectionLag
from backend.services import tasks as task_service

if TYPE_CHECKING:
    from backend.bootstrap import Container
    from backend.iam.principal import User

TaskAction = Literal["view:data", "upload:data"]


async def task_for(
    container: Container, user: User, task_id: int, action: TaskAction = "view:data"
) -> dict[str, Any]:
    """The task's read-model row; 404 if the user may not see it, 403 if not `action`."""
    async with container.pool.connection() as conn:
        await access.check_task(conn, user, action, task_id)
        task = await task_service.get_task(conn, task_id)
    if task is None:
        raise not_found("Task not found.")
    return task


async def job_for(container: Container, user: User, job_id: int) -> dict[str, Any]:
    """The job's read-model row (id, task_id, start_frame, stop_frame, frames, ...)."""
    async with container.pool.connection() as conn:
        await access.check_job(conn, user, "view:data", job_id)
        cur = await conn.execute("SELECT to_jsonb(j) FROM jobs j WHERE j.id = %s", [job_id])
        row = await cur.fetchone()
    if row is None:
        raise not_found("Job not found.")
    return dict(row[0])


async def attach(
    container: Container, task_id: int, spec: TaskDataSpec, actor_id: int, *,
    wait_s: float = 120.0,
) -> int:  # fmt: skip
    """Record the data (event + jobs), then wait until the read models show it, so a
    client that sees the request finished also sees the task's size and jobs."""
    position = await task_service.attach_task_data(container, task_id, spec, actor_id)
    waited = 0.0
    while True:
        try:
            await container.waiter.wait(position)
            return position
        except ProjectionLag:
            waited += container.settings.read_your_writes_timeout_s
            if waited >= wait_s:
                raise
