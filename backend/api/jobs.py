"""/api/jobs: jobs are made by their task's data; here they are listed, read and have their
workflow fields (assignee, stage, state) changed (CVAT's rules:
backend/domain/job_workflow.py; who may: backend/iam/policy.py)."""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

from backend.api import access
from backend.api.errors import not_found
from backend.api.lists import Field, Paginated, Resource, fetch_row, list_page
from backend.api.representations import JOB_SELECT, JOB_SOURCE, JobRead, job_read
from backend.api.routing import ApiRequest, ApiRouter
from backend.domain.events import JobStage, JobState
from backend.domain.job_workflow import WorkflowChange
from backend.iam import policy

router = ApiRouter("jobs")

JOBS = Resource(
    name="jobs",
    source=JOB_SOURCE,
    select=JOB_SELECT,
    fields={
        "id": Field("j.id", "int"),
        "task_id": Field("j.task_id", "int"),
        "project_id": Field("t.project_id", "int"),
        "task_name": Field("t.name"),
        "assignee": Field("au.username"),
        "stage": Field("j.stage"),
        "state": Field("j.state"),
        "type": Field("j.type"),
        "dimension": Field("'2d'"),
        "frame_count": Field("(j.stop_frame - j.start_frame + 1)", "int"),
        "created_date": Field("j.created_at", "datetime"),
        "updated_date": Field("j.updated_at", "datetime"),
    },
    search=("task_name", "assignee", "stage", "state"),
    simple_filters=("task_id", "project_id", "task_name", "assignee", "stage", "state", "type"),
)


class JobWrite(msgspec.Struct, kw_only=True):
    """PatchedJobWriteRequest: the workflow fields."""

    assignee: int | UnsetType | None = UNSET
    stage: JobStage | UnsetType = UNSET
    state: JobState | UnsetType = UNSET


async def load_job(req: ApiRequest, job_id: int) -> JobRead:
    async with req.container.pool.connection() as conn:
        row = await fetch_row(conn, JOBS, job_id)
    if row is None:
        raise not_found()
    return job_read(req, row)


@router.get("/api/jobs", query=JOBS.query, response=Paginated[JobRead], summary="List jobs")
async def list_jobs(req: ApiRequest) -> Paginated[JobRead]:
    page = await list_page(req, JOBS, policy.visible_jobs_sql(req.principal, "j"))
    return page.paginated([job_read(req, row) for row in page.rows])


@router.get("/api/jobs/{id:int}", response=JobRead, summary="A job")
async def get_job(req: ApiRequest) -> JobRead:
    async with req.container.pool.connection() as conn:
        await access.check_job(conn, req.principal, "view", req.path["id"])
    return await load_job(req, req.path["id"])


@router.patch("/api/jobs/{id:int}", body=JobWrite, response=JobRead,
              summary="Change a job's assignee, stage or state")  # fmt: skip
async def update_job(req: ApiRequest) -> JobRead:
    job_id: int = req.path["id"]
    body: JobWrite = req.body
    checks = {"assignee": "update:assignee", "stage": "update:stage", "state": "update:state"}
    async with req.container.pool.connection() as conn:
        await access.check_job(conn, req.principal, "view", job_id)
        for name, action in checks.items():
            if not isinstance(getattr(body, name), UnsetType):
                await access.check_job(conn, req.principal, action, job_id)
        if not isinstance(body.assignee, UnsetType):
            await access.existing_users(conn, {"assignee": body.assignee})
    change = WorkflowChange(stage=body.stage, state=body.state, assignee_id=body.assignee)
    position = await req.container.resources.update_job(req.principal.id, job_id, change)
    await req.projected(position)
    return await load_job(req, job_id)
