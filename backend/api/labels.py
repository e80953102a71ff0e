"""/api/labels: the labels of a project, a task (its own or its project's) or a job (its
task's); a label is changed or deleted through its project or task."""

from __future__ import annotations

import msgspec
from psycopg import sql
from psycopg.rows import dict_row

from backend.api import access
from backend.api.errors import ApiError, bad_request, not_found
from backend.api.lists import Field, Paginated, Resource, fetch_page
from backend.api.representations import LabelRead, label_read, label_reads
from backend.api.routing import ApiRequest, ApiRouter
from backend.domain.label_edits import LabelEdit
from backend.domain.tasks import ProjectFields, TaskFields

router = ApiRouter("labels")

LABELS = Resource(
    name="labels",
    source="labels l",
    select="l.*",
    fields={
        "id": Field("l.id", "int"),
        "name": Field("l.name"),
        "type": Field("l.type"),
        "color": Field("l.color"),
        "parent_id": Field("l.parent_id", "int"),
        "position": Field("l.position", "int"),
    },
    search=("name",),
    default_sort="position",
    simple_filters=("name", "type", "color", "parent_id"),
    extra_query={"task_id": int | None, "job_id": int | None, "project_id": int | None},
)


def _task_labels(task_id: int) -> sql.Composable:
    return sql.SQL(
        "(l.task_id = {t} OR l.project_id = (SELECT project_id FROM tasks WHERE id = {t}))"
    ).format(t=sql.Literal(task_id))


async def _owner_condition(req: ApiRequest) -> sql.Composable:
    """Which labels the query asks for, after checking the user may see their owner (ids
    are ints we parsed, embedded as literals)."""
    params = req.request.query_params
    user = req.principal
    async with req.container.pool.connection() as conn:
        if "job_id" in params:
            job_id = _int(params["job_id"], "job_id")
            await access.check_job(conn, user, "view", job_id)
            cur = await conn.execute("SELECT task_id FROM jobs WHERE id = %s", [job_id])
            row = await cur.fetchone()
            assert row is not None
            return _task_labels(row[0])
        if "task_id" in params:
            task_id = _int(params["task_id"], "task_id")
            await access.check_task(conn, user, "view", task_id)
            return _task_labels(task_id)
        if "project_id" in params:
            project_id = _int(params["project_id"], "project_id")
            await access.check_project(conn, user, "view", project_id)
            return sql.SQL("l.project_id = {}").format(sql.Literal(project_id))
    if user.is_admin:
        return sql.SQL("TRUE")
    raise bad_request("task_id", "Give one of task_id, job_id or project_id.")


def _int(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise bad_request(name, "A valid integer is required.") from None


@router.get("/api/labels", query=LABELS.query, response=Paginated[LabelRead],
            summary="Labels of a project, task or job")  # fmt: skip
async def list_labels(req: ApiRequest) -> Paginated[LabelRead]:
    owner = await _owner_condition(req)
    where = (sql.SQL("({} AND l.parent_id IS NULL)").format(owner), ())
    async with req.container.pool.connection() as conn:
        page = await fetch_page(
            conn, LABELS, req.request.query_params, str(req.request.url),
            headers=req.request.headers, where=where,
        )  # fmt: skip
        ids = [row["id"] for row in page.rows]
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "SELECT * FROM labels WHERE parent_id = ANY(%s) ORDER BY position", [ids]
            )
            subs = await cur.fetchall()
    return page.paginated(label_reads([*page.rows, *subs]))


async def _label_row(req: ApiRequest, label_id: int, action: str) -> dict[str, object]:
    async with req.container.pool.connection() as conn:
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute("SELECT * FROM labels WHERE id = %s", [label_id])
            row = await cur.fetchone()
        if row is None:
            raise not_found()
        if row["task_id"] is not None:
            await access.check_task(conn, req.principal, action, row["task_id"])
        elif row["project_id"] is not None:
            await access.check_project(conn, req.principal, action, row["project_id"])
    return row


@router.get("/api/labels/{id:int}", response=LabelRead, summary="A label")
async def get_label(req: ApiRequest) -> LabelRead:
    row = await _label_row(req, req.path["id"], "view")
    async with req.container.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT * FROM labels WHERE parent_id = %s ORDER BY position", [row["id"]]
        )
        subs = await cur.fetchall()
    return label_read(row, [label_read(s, []) for s in subs])


async def _edit(req: ApiRequest, row: dict[str, object], edit: LabelEdit) -> None:
    if row["parent_id"] is not None:
        raise ApiError(400, {"id": ["A skeleton point is changed through its skeleton."]})
    resources = req.container.resources
    if isinstance(row["task_id"], int):
        position = await resources.update_task(
            req.principal.id, row["task_id"], TaskFields(), [edit]
        )
    else:
        assert isinstance(row["project_id"], int)
        position = await resources.update_project(
            req.principal.id, row["project_id"], ProjectFields(), [edit]
        )
    await req.projected(position)


@router.patch("/api/labels/{id:int}", body=LabelEdit, response=LabelRead, summary="Change a label")
async def update_label(req: ApiRequest) -> LabelRead:
    row = await _label_row(req, req.path["id"], "update")
    edit: LabelEdit = msgspec.structs.replace(req.body, id=req.path["id"], deleted=False)
    await _edit(req, row, edit)
    read: LabelRead = await get_label(req)
    return read


@router.delete("/api/labels/{id:int}", status=204, summary="Delete a label")
async def delete_label(req: ApiRequest) -> None:
    row = await _label_row(req, req.path["id"], "update")
    await _edit(req, row, LabelEdit(id=req.path["id"], deleted=True))
