"""/api/tasks: CVAT's task CRUD, served from the `tasks` read model. (Task data, frames
and annotations have their own modules.)"""

from __future__ import annotations

import asyncio

import msgspec
from msgspec import UNSET, UnsetType

from backend.api import access
from backend.api.errors import ApiError, bad_request, not_found, permission_denied
from backend.api.lists import Field, Paginated, Resource, fetch_row, list_page
from backend.api.representations import TASK_SELECT, TASK_SOURCE, TaskRead, task_read
from backend.api.routing import ApiRequest, ApiRouter
from backend.domain.label_edits import LabelEdit
from backend.domain.tasks import Storage, TaskFields
from backend.iam import policy
from backend.media.storage import TaskStorage

router = ApiRouter("tasks")

TASKS = Resource(
    name="tasks",
    source=TASK_SOURCE,
    select=TASK_SELECT,
    fields={
        "id": Field("t.id", "int"),
        "name": Field("t.name"),
        "project_id": Field("t.project_id", "int"),
        "owner": Field("ou.username"),
        "assignee": Field("au.username"),
        "subset": Field("t.subset"),
        "mode": Field("t.mode"),
        "dimension": Field("'2d'"),
        "size": Field("t.size", "int"),
        "status": Field("js.task_status"),
        "tracker_link": Field("t.bug_tracker"),
        "created_date": Field("t.created_at", "datetime"),
        "updated_date": Field("t.updated_at", "datetime"),
    },
    search=("name", "owner", "assignee", "subset", "mode", "status"),
    simple_filters=(
        "project_id", "name", "owner", "assignee", "subset", "mode", "dimension", "status",
        "tracker_link",
    ),
)  # fmt: skip


class TaskWrite(msgspec.Struct, kw_only=True):
    """TaskWriteRequest / PatchedTaskWriteRequest (fields left out are unchanged)."""

    name: str | UnsetType = UNSET
    project_id: int | UnsetType | None = UNSET
    owner_id: int | UnsetType | None = UNSET
    assignee_id: int | UnsetType | None = UNSET
    bug_tracker: str | UnsetType = UNSET
    overlap: int | None = None
    segment_size: int = 0
    labels: list[LabelEdit] = []
    subset: str | UnsetType = UNSET
    target_storage: Storage | UnsetType | None = UNSET
    source_storage: Storage | UnsetType | None = UNSET

    def fields(self) -> TaskFields:
        return TaskFields(
            name=self.name, project_id=self.project_id, owner_id=self.owner_id,
            assignee_id=self.assignee_id, bug_tracker=self.bug_tracker, subset=self.subset,
            target_storage=self.target_storage, source_storage=self.source_storage,
        )  # fmt: skip

    def user_ids(self) -> dict[str, int | None]:
        return {
            name: value
            for name, value in (("owner_id", self.owner_id), ("assignee_id", self.assignee_id))
            if not isinstance(value, UnsetType)
        }


async def load_task(req: ApiRequest, task_id: int) -> TaskRead:
    async with req.container.pool.connection() as conn:
        row = await fetch_row(conn, TASKS, task_id)
    if row is None:
        raise not_found()
    return task_read(req, row)


@router.get("/api/tasks", query=TASKS.query, response=Paginated[TaskRead], summary="List tasks")
async def list_tasks(req: ApiRequest) -> Paginated[TaskRead]:
    page = await list_page(req, TASKS, policy.visible_tasks_sql(req.principal, "t"))
    return page.paginated([task_read(req, row) for row in page.rows])


@router.post("/api/tasks", body=TaskWrite, response=TaskRead, status=201, summary="Create a task")
async def create_task(req: ApiRequest) -> TaskRead:
    user = req.principal
    body: TaskWrite = req.body
    async with req.container.pool.connection() as conn:
        project = None
        if isinstance(body.project_id, int):
            try:
                project = await access.project_facts(conn, body.project_id)
            except ApiError:
                raise bad_request(
                    "project_id", f'Invalid pk "{body.project_id}" - object does not exist.'
                ) from None
        if not policy.can_create_task(user, project):
            raise permission_denied()
        await access.existing_users(conn, body.user_ids())
    if project is None and not body.labels:
        raise bad_request("labels", "Label set or project_id must be present")
    fields = body.fields()
    if isinstance(fields.owner_id, UnsetType) or not user.is_admin:
        fields = msgspec.structs.replace(fields, owner_id=user.id)
    task_id, position = await req.container.resources.create_task(
        user.id, fields, body.labels, segment_size=body.segment_size, overlap=body.overlap
    )
    await req.projected(position)
    return await load_task(req, task_id)


@router.get("/api/tasks/{id:int}", response=TaskRead, summary="A task")
async def get_task(req: ApiRequest) -> TaskRead:
    async with req.container.pool.connection() as conn:
        await access.check_task(conn, req.principal, "view", req.path["id"])
    return await load_task(req, req.path["id"])


@router.patch("/api/tasks/{id:int}", body=TaskWrite, response=TaskRead, summary="Change a task")
async def update_task(req: ApiRequest) -> TaskRead:
    task_id: int = req.path["id"]
    body: TaskWrite = req.body
    actions = ["update"]
    for name, action in (
        ("owner_id", "update:owner"), ("assignee_id", "update:assignee"),
        ("project_id", "update:project"),
    ):  # fmt: skip
        if not isinstance(getattr(body, name), UnsetType):
            actions.append(action)
    async with req.container.pool.connection() as conn:
        for action in actions:
            await access.check_task(conn, req.principal, action, task_id)
        if isinstance(body.project_id, int):
            await access.check_project(conn, req.principal, "create:task", body.project_id)
        await access.existing_users(conn, body.user_ids())
    position = await req.container.resources.update_task(
        req.principal.id, task_id, body.fields(), body.labels
    )
    await req.projected(position)
    return await load_task(req, task_id)


@router.delete("/api/tasks/{id:int}", status=204, summary="Delete a task")
async def delete_task(req: ApiRequest) -> None:
    task_id: int = req.path["id"]
    async with req.container.pool.connection() as conn:
        await access.check_task(conn, req.principal, "delete", task_id)
    position = await req.container.resources.delete_task(req.principal.id, task_id)
    await remove_task_files(req, [task_id])
    await req.projected(position)


async def remove_task_files(req: ApiRequest, task_ids: list[int]) -> None:
    """The deletion is recorded; the task's media on disk goes with it."""
    data_dir = req.container.settings.data_dir
    for task_id in task_ids:
        await asyncio.to_thread(TaskStorage(data_dir, task_id).remove_all)
