"""Task and project backups (CVAT's /backup endpoints; the archive layout is in
backend/backups/):

    POST /api/tasks/{id}/backup/export?lightweight=&location=local&filename=&with_history=
        -> 202 {rq_id}; the worker writes the zip; the request finishes with `result_url`
    GET  /api/tasks/{id}/backup/download?rq_id=      the finished zip (attachment)
    POST /api/tasks/backup/?filename=                 restore, over the single-file upload
        protocol (backend/api/file_upload.py) or one multipart request (`task_file`)
        -> 202 {rq_id}; the request's `result_id` is the new task
    ... and the same for /api/projects (`project_file`).

`with_history=true` (Vellum) also stores each job's event log; a restore keeps it as a
restored history record. `lightweight` only matters for cloud-storage data in CVAT, which
Vellum backs up from its local copy anyway; `location=cloud_storage` is refused."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Literal

import msgspec
from starlette.responses import FileResponse, Response

from backend.api import access, file_upload
from backend.api.errors import ApiError, bad_request, not_found, permission_denied
from backend.api.requests import RqId, enqueue
from backend.api.routing import ApiRequest, ApiRouter
from backend.backups import service as backups
from backend.backups.export import safe_file_name
from backend.iam import policy
from backend.services import requests

router = ApiRouter("backups")

Kind = Literal["task", "project"]
EXPORT_OPERATION = "export:backup"
IMPORT_OPERATION = "import:backup"


class ExportQuery(msgspec.Struct, kw_only=True):
    lightweight: bool = True
    location: Literal["local", "cloud_storage"] | None = None
    cloud_storage_id: int | None = None
    filename: str | None = None
    with_history: bool = False


class DownloadQuery(msgspec.Struct, kw_only=True):
    rq_id: str


class RestoreQuery(msgspec.Struct, kw_only=True):
    filename: str | None = None
    location: Literal["local", "cloud_storage"] | None = None
    cloud_storage_id: int | None = None


# --- export ------------------------------------------------------------------------------


async def _export(req: ApiRequest, kind: Kind) -> Response:
    ident = int(req.path["id"])
    query: ExportQuery = req.query
    async with req.container.pool.connection() as conn:
        if kind == "task":
            await access.check_task(conn, req.principal, "export", ident)
            cur = await conn.execute("SELECT name, size FROM tasks WHERE id = %s", [ident])
        else:
            await access.check_project(conn, req.principal, "export", ident)
            cur = await conn.execute("SELECT name, 0 FROM projects WHERE id = %s", [ident])
        row = await cur.fetchone()
        if row is None:
            raise not_found()
        if kind == "task" and not row[1]:
            raise bad_request("non_field_errors", "The task has no data: nothing to back up.")
        if query.location == "cloud_storage":
            raise bad_request("location", "Backups to a cloud storage are not supported.")
        filename = query.filename
        if filename is not None:
            # Only what clients accept back from Content-Disposition; never a path.
            filename = safe_file_name(Path(filename.replace("\\", "/")).name)
            if not filename:
                raise bad_request("filename", "Not a valid file name.")
        operation = requests.Operation(
            type=EXPORT_OPERATION, target=kind, task_id=ident if kind == "task" else None,
            project_id=ident if kind == "project" else None, lightweight=query.lightweight,
        )  # fmt: skip
        rq_id = await requests.create(
            conn, owner_id=req.principal.id, operation=operation,
            params={
                "kind": kind, "id": ident, "name": row[0], "filename": filename,
                "with_history": query.with_history,
                "download_url": req.absolute_url(f"/api/{kind}s/{ident}/backup/download"),
            },
        )  # fmt: skip
    return await enqueue(req, "export_backup", rq_id)


@router.post(
    "/api/tasks/{id:int}/backup/export", query=ExportQuery, response=RqId, status=202,
    summary="Back up a task (a background request; result_url downloads the zip)",
)  # fmt: skip
async def export_task_backup(req: ApiRequest) -> Response:
    return await _export(req, "task")


@router.post(
    "/api/projects/{id:int}/backup/export", query=ExportQuery, response=RqId, status=202,
    summary="Back up a project and its tasks (a background request)",
)  # fmt: skip
async def export_project_backup(req: ApiRequest) -> Response:
    return await _export(req, "project")


async def _download(req: ApiRequest, kind: Kind) -> Response:
    ident = int(req.path["id"])
    query: DownloadQuery = req.query
    async with req.container.pool.connection() as conn:
        if kind == "task":
            await access.check_task(conn, req.principal, "export", ident)
        else:
            await access.check_project(conn, req.principal, "export", ident)
        row = await requests.get(conn, query.rq_id)
    user = req.principal
    if (
        row is None
        or (row.owner_id != user.id and not user.is_admin)
        or row.operation.type != EXPORT_OPERATION
        or row.params.get("kind") != kind
        or row.params.get("id") != ident
    ):
        raise not_found("No backup of this request.")
    if row.status != "finished":
        raise bad_request("rq_id", f"The backup is not ready (the request is {row.status}).")
    path = backups.result_dir(req.container.settings.data_dir, row.id) / str(row.params["file"])
    if not path.is_file():
        raise not_found("The backup file is no longer available; export it again.")
    # The name is plain (safe_file_name): sent as filename="..." which cvat-sdk parses
    # (Starlette would send a name with spaces as filename*=, which it does not).
    disposition = f'attachment; filename="{path.name}"'
    return FileResponse(
        path, media_type="application/zip", headers={"Content-Disposition": disposition}
    )


@router.get("/api/tasks/{id:int}/backup/download", query=DownloadQuery,
            summary="Download a finished task backup")  # fmt: skip
async def download_task_backup(req: ApiRequest) -> Response:
    return await _download(req, "task")


@router.get("/api/projects/{id:int}/backup/download", query=DownloadQuery,
            summary="Download a finished project backup")  # fmt: skip
async def download_project_backup(req: ApiRequest) -> Response:
    return await _download(req, "project")


# --- restore -----------------------------------------------------------------------------


def _scope(req: ApiRequest, kind: Kind) -> str:
    return f"{kind}s:backup:user:{req.principal.id}"


def _check_create(req: ApiRequest, kind: Kind) -> None:
    allowed = (
        policy.can_create_task(req.principal)
        if kind == "task"
        else policy.can_create_project(req.principal)
    )
    if not allowed:
        raise permission_denied()


async def _restore(req: ApiRequest, kind: Kind) -> Response:
    _check_create(req, kind)
    query: RestoreQuery = req.query
    if query.location == "cloud_storage":
        raise bad_request("location", "Restoring from a cloud storage is not supported.")
    got = await file_upload.receive(
        req, _scope(req, kind), f"/api/{kind}s/backup/", (f"{kind}_file",)
    )
    if isinstance(got, Response):
        return got
    # The file leaves the upload session at once: a later Upload-Start of the same user
    # (the next restore) must not remove it before the worker reads it.
    root = backups.root(req.container.settings.data_dir)
    async with req.container.pool.connection() as conn:
        rq_id = await requests.create(
            conn, owner_id=req.principal.id,
            operation=requests.Operation(type=IMPORT_OPERATION, target=kind),
            params={"kind": kind, "filename": got.filename},
        )  # fmt: skip
    target = root / f"upload-{rq_id}.zip"

    def move() -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(got.path), target)

    try:
        await asyncio.to_thread(move)
    except OSError as exc:
        async with req.container.pool.connection() as conn:
            await requests.fail(conn, rq_id, f"The upload could not be kept: {exc}")
        raise ApiError(500, "The upload could not be kept.") from None
    finally:
        await file_upload.consume(req.container, got.session)
    return await enqueue(req, "restore_backup", rq_id)


@router.post(
    "/api/tasks/backup/", query=RestoreQuery, raw_body=True, response=RqId, status=202,
    summary="Restore a task from a backup (upload protocol; result_id is the new task)",
    extra_responses={201: "TUS upload created"},
)  # fmt: skip
async def restore_task_backup(req: ApiRequest) -> Response:
    return await _restore(req, "task")


@router.post(
    "/api/projects/backup/", query=RestoreQuery, raw_body=True, response=RqId, status=202,
    summary="Restore a project from a backup (upload protocol; result_id is the new project)",
    extra_responses={201: "TUS upload created"},
)  # fmt: skip
async def restore_project_backup(req: ApiRequest) -> Response:
    return await _restore(req, "project")


@router.route("HEAD", "/api/tasks/backup/{file_id}", summary="TUS upload offset")
async def task_backup_offset(req: ApiRequest) -> Response:
    _check_create(req, "task")
    return await file_upload.tus_head(req, _scope(req, "task"))


@router.patch("/api/tasks/backup/{file_id}", raw_body=True, status=204, summary="TUS upload chunk")
async def task_backup_chunk(req: ApiRequest) -> Response:
    _check_create(req, "task")
    return await file_upload.tus_patch(req, _scope(req, "task"))


@router.route("HEAD", "/api/projects/backup/{file_id}", summary="TUS upload offset")
async def project_backup_offset(req: ApiRequest) -> Response:
    _check_create(req, "project")
    return await file_upload.tus_head(req, _scope(req, "project"))


@router.patch(
    "/api/projects/backup/{file_id}", raw_body=True, status=204, summary="TUS upload chunk"
)
async def project_backup_chunk(req: ApiRequest) -> Response:
    _check_create(req, "project")
    return await file_upload.tus_patch(req, _scope(req, "project"))
