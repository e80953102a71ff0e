"""/api/projects: CVAT's project CRUD, served from the `projects` read model."""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

from backend.api import access
from backend.api.errors import not_found, permission_denied
from backend.api.lists import Field, Paginated, Resource, fetch_row, list_page
from backend.api.representations import (
    PROJECT_SELECT,
    PROJECT_SOURCE,
    ProjectRead,
    project_read,
)
from backend.api.routing import ApiRequest, ApiRouter
from backend.api.tasks import remove_task_files
from backend.domain.label_edits import LabelEdit
from backend.domain.tasks import ProjectFields, Storage
from backend.iam import policy

router = ApiRouter("projects")

PROJECTS = Resource(
    name="projects",
    source=PROJECT_SOURCE,
    select=PROJECT_SELECT,
    fields={
        "id": Field("p.id", "int"),
        "name": Field("p.name"),
        "owner": Field("ou.username"),
        "assignee": Field("au.username"),
        "bug_tracker": Field("p.bug_tracker"),
        "created_date": Field("p.created_at", "datetime"),
        "updated_date": Field("p.updated_at", "datetime"),
    },
    search=("name", "owner", "assignee"),
    simple_filters=("name", "owner", "assignee"),
)


class ProjectWrite(msgspec.Struct, kw_only=True):
    """ProjectWriteRequest / PatchedProjectWriteRequest (fields left out are unchanged)."""

    name: str | UnsetType = UNSET
    labels: list[LabelEdit] = []
    owner_id: int | UnsetType | None = UNSET
    assignee_id: int | UnsetType | None = UNSET
    bug_tracker: str | UnsetType = UNSET
    target_storage: Storage | UnsetType | None = UNSET
    source_storage: Storage | UnsetType | None = UNSET

    def fields(self) -> ProjectFields:
        return ProjectFields(
            name=self.name, owner_id=self.owner_id, assignee_id=self.assignee_id,
            bug_tracker=self.bug_tracker, target_storage=self.target_storage,
            source_storage=self.source_storage,
        )  # fmt: skip


async def load_project(req: ApiRequest, project_id: int) -> ProjectRead:
    async with req.container.pool.connection() as conn:
        row = await fetch_row(conn, PROJECTS, project_id)
    if row is None:
        raise not_found()
    return project_read(req, row)


def _user_ids(body: ProjectWrite) -> dict[str, int | None]:
    return {
        name: value
        for name, value in (("owner_id", body.owner_id), ("assignee_id", body.assignee_id))
        if not isinstance(value, UnsetType)
    }


@router.get("/api/projects", query=PROJECTS.query, response=Paginated[ProjectRead],
            summary="List projects")  # fmt: skip
async def list_projects(req: ApiRequest) -> Paginated[ProjectRead]:
    page = await list_page(req, PROJECTS, policy.visible_projects_sql(req.principal, "p"))
    return page.paginated([project_read(req, row) for row in page.rows])


@router.post("/api/projects", body=ProjectWrite, response=ProjectRead, status=201,
             summary="Create a project")  # fmt: skip
async def create_project(req: ApiRequest) -> ProjectRead:
    user = req.principal
    if not policy.can_create_project(user):
        raise permission_denied()
    body: ProjectWrite = req.body
    async with req.container.pool.connection() as conn:
        await access.existing_users(conn, _user_ids(body))
    fields = body.fields()
    if isinstance(fields.owner_id, UnsetType) or not user.is_admin:
        fields = msgspec.structs.replace(fields, owner_id=user.id)
    project_id, position = await req.container.resources.create_project(
        user.id, fields, body.labels
    )
    await req.projected(position)
    return await load_project(req, project_id)


@router.get("/api/projects/{id:int}", response=ProjectRead, summary="A project")
async def get_project(req: ApiRequest) -> ProjectRead:
    async with req.container.pool.connection() as conn:
        await access.check_project(conn, req.principal, "view", req.path["id"])
    return await load_project(req, req.path["id"])


@router.patch("/api/projects/{id:int}", body=ProjectWrite, response=ProjectRead,
              summary="Change a project")  # fmt: skip
async def update_project(req: ApiRequest) -> ProjectRead:
    project_id: int = req.path["id"]
    body: ProjectWrite = req.body
    actions = ["update"]
    if not isinstance(body.owner_id, UnsetType):
        actions.append("update:owner")
    if not isinstance(body.assignee_id, UnsetType):
        actions.append("update:assignee")
    async with req.container.pool.connection() as conn:
        for action in actions:
            await access.check_project(conn, req.principal, action, project_id)
        await access.existing_users(conn, _user_ids(body))
    position = await req.container.resources.update_project(
        req.principal.id, project_id, body.fields(), body.labels
    )
    await req.projected(position)
    return await load_project(req, project_id)


@router.delete("/api/projects/{id:int}", status=204, summary="Delete a project and its tasks")
async def delete_project(req: ApiRequest) -> None:
    project_id: int = req.path["id"]
    async with req.container.pool.connection() as conn:
        await access.check_project(conn, req.principal, "delete", project_id)
        cur = await conn.execute("SELECT id FROM tasks WHERE project_id = %s", [project_id])
        task_ids = [row[0] for row in await cur.fetchall()]
    position = await req.container.resources.delete_project(req.principal.id, project_id, task_ids)
    await remove_task_files(req, task_ids)
    await req.projected(position)
