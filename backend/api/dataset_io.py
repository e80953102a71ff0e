"""Dataset export and annotation import requests, as CVAT's clients drive them.

Export: POST /api/{jobs,tasks,projects}/{id}/dataset/export?format=&save_images=
&location=local&filename= -> 202 {rq_id}; the arq job (workers/formats_jobs.py) writes the
archive; the finished request's `result_url` (absolute) is GET /api/requests/{rq_id}/download,
which streams it to the request's owner (404 once gone). With location=cloud_storage
&cloud_storage_id= the archive goes to that bucket under `filename` instead (no result_url).

Without location, the resource's target storage decides.

An export to a local file reuses the archive of an earlier finished export of the same
object, format and save_images while the object has not changed since (CVAT's export
cache): the request is finished at once, with the same archive under its own name.

Import: /api/{jobs,tasks}/{id}/annotations/?format=&filename= over the single-file upload
protocol (backend/api/file_upload.py) -> 202 {rq_id}; the arq job replaces the annotations
(import_mode=replace, CVAT's default) or adds to them (import_mode=append) with one event
per job (source "import"). /api/projects/{id}/dataset/ takes a dataset with its images and
makes a task of each of its subsets in the project (workers/dataset_import.py), owned by the
project's owner as CVAT's are; import_mode=append is refused there (CVAT has no such mode). With
location=cloud_storage&cloud_storage_id=&filename= (or, without location, a cloud source
storage of the resource when use_default_location is true, CVAT's default) a plain POST
imports the object `filename` from the bucket instead of an upload. Vellum's own options:
label_map (JSON object: file label -> target label, or null to drop its annotations) and
on_error=fail|skip (what to do with annotations or items that cannot be imported).
Permissions: a resource the user may not see is a 404, a refused action a 403."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any, Literal

import msgspec
from starlette.responses import FileResponse, Response

from backend.api import access, file_upload
from backend.api.errors import bad_request, not_found
from backend.api.requests import RqId, enqueue
from backend.api.routing import ApiRequest, ApiRouter
from backend.cloud import export_target
from backend.formats import pipeline, project_export, registry, sources
from backend.services import requests
from backend.services.labels import labels_for_task

router = ApiRouter("datasets")

Target = Literal["job", "task", "project"]


class ExportQuery(msgspec.Struct, kw_only=True):
    format: str | None = None
    save_images: bool = False
    location: Literal["local", "cloud_storage"] | None = None
    cloud_storage_id: int | None = None
    filename: str | None = None


class ImportQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    format: str | None = None
    filename: str | None = None
    conv_mask_to_poly: bool = True
    # a task's or job's (default replace); CVAT's project import has none: it makes tasks
    import_mode: Literal["replace", "append"] | None = None
    location: Literal["local", "cloud_storage"] | None = None
    cloud_storage_id: int | None = None
    use_default_location: bool = True
    label_map: str | None = None  # JSON object {"file label": "target label" or null}
    on_error: Literal["fail", "skip"] = "fail"


def _format_name(value: str | None) -> str:
    if value is None or not value.strip():
        raise bad_request("format", "This field is required: a format name such as 'COCO 1.0'.")
    return value


# --- export ------------------------------------------------------------------------------


async def _export_target(req: ApiRequest, target: Target, ident: int) -> dict[str, Any]:
    """Permission check (404 unseen, 403 refused), what names the archive, and the default
    target storage (the task's, a job's task's, or the project's)."""
    user = req.principal
    async with req.container.pool.connection() as conn:
        if target == "job":
            await access.check_job(conn, user, "view:annotations", ident)
            query = (
                "SELECT j.task_id, t.project_id, j.id::text, t.target_storage, t.size FROM jobs j"
                " JOIN tasks t ON t.id = j.task_id WHERE j.id = %s"
            )
        elif target == "task":
            await access.check_task(conn, user, "export", ident)
            query = "SELECT id, project_id, name, target_storage, size FROM tasks WHERE id = %s"
        else:
            await access.check_project(conn, user, "export", ident)
            query = (
                "SELECT NULL::bigint, p.id, p.name, p.target_storage,"
                " (SELECT count(*) FROM tasks t WHERE t.project_id = p.id AND t.size > 0)"
                " FROM projects p WHERE p.id = %s"
            )
        cur = await conn.execute(query, [ident])
        row = await cur.fetchone()
    if row is None:
        raise not_found()
    if not row[4]:
        what = "project has no task with data" if target == "project" else "task has no data"
        raise bad_request("non_field_errors", f"The {what} to export.")
    return {
        "task_id": row[0], "project_id": row[1], "job_id": ident if target == "job" else None,
        "name": row[2], "target_storage": row[3] if isinstance(row[3], dict) else None,
    }  # fmt: skip


async def _export(req: ApiRequest, target: Target) -> Response:
    ident = int(req.path["id"])
    query: ExportQuery = req.query
    found = await _export_target(req, target, ident)
    name = _format_name(query.format)
    try:
        info = registry.exporter_for(name)
    except registry.FormatNotFound as exc:
        raise bad_request("format", str(exc)) from None
    # Without location, the resource's target storage decides (cvat-sdk reads it too, to
    # know whether to download).
    default = found["target_storage"] or {}
    location = query.location or default.get("location") or "local"
    storage_id = None
    if location == "cloud_storage":
        given = query.cloud_storage_id
        if query.location is None and given is None:
            given = default.get("cloud_storage_id")
        storage_id = await export_target.check(req.container, req.principal, given)
    filename = query.filename or pipeline.archive_name(
        target, found["name"], info.display_name, query.save_images,
        datetime.datetime.now(datetime.UTC),
    )  # fmt: skip
    # In a bucket the name may have folders (cvat-sdk sends the path it was given); locally
    # it is one plain file name.
    cloud_key = None
    if storage_id is not None:
        try:
            cloud_key = pipeline.safe_object_key(filename)
        except ValueError as exc:
            raise bad_request("filename", str(exc)) from None
        filename = cloud_key.rsplit("/", 1)[-1]
    elif "/" in filename or "\\" in filename or filename.startswith(".") or "\x00" in filename:
        raise bad_request("filename", f"{filename!r} is not a plain file name")
    filename = pipeline.safe_file_name(filename)
    kind = "export:dataset" if query.save_images else "export:annotations"
    operation = requests.Operation(
        type=kind, target=target, task_id=found["task_id"], project_id=found["project_id"],
        job_id=found["job_id"], format=info.display_name,
    )  # fmt: skip
    async with req.container.pool.connection() as conn:
        version, position = await sources.export_version(
            conn, found["task_id"] if target != "project" else None, found["job_id"],
            found["project_id"],
        )  # fmt: skip
        rq_id = await requests.create(
            conn, owner_id=req.principal.id, operation=operation,
            params={
                "save_images": query.save_images, "filename": filename,
                "cloud_storage_id": storage_id, "cloud_key": cloud_key,
                "base_url": req.absolute_url("/"), "version": version, "position": position,
            },
        )  # fmt: skip
        if storage_id is None and await _reuse(req, conn, rq_id, operation, version, filename):
            return Response(msgspec.json.encode(RqId(rq_id)), 202, media_type="application/json")
    return await enqueue(req, "export_dataset", rq_id)


async def _reuse(
    req: ApiRequest, conn: Any, rq_id: str, operation: requests.Operation, version: str,
    filename: str,
) -> bool:  # fmt: skip
    """Finish the request with the archive of an earlier export of the same version, if
    one is still there (linked under this request's name); False when there is none."""
    data_dir = req.container.settings.data_dir
    await asyncio.to_thread(pipeline.remove_expired_exports, data_dir)
    for earlier, name in await requests.finished_exports(conn, operation, version):
        source = pipeline.exports_dir(data_dir, earlier) / name
        target = pipeline.exports_dir(data_dir, rq_id) / filename
        if await asyncio.to_thread(pipeline.link_export, source, target):
            await requests.mark_started(conn, rq_id)
            url = req.absolute_url(f"/api/requests/{rq_id}/download")
            await requests.finish(conn, rq_id, result_url=url)
            return True
    return False


_EXPORT_DOC = dict(
    query=ExportQuery, response=RqId, status=202,
    extra_responses={400: "unknown format or location"},
)  # fmt: skip


@router.post("/api/jobs/{id:int}/dataset/export", summary="Export a job's dataset", **_EXPORT_DOC)
async def export_job_dataset(req: ApiRequest) -> Response:
    return await _export(req, "job")


@router.post("/api/tasks/{id:int}/dataset/export", summary="Export a task's dataset", **_EXPORT_DOC)
async def export_task_dataset(req: ApiRequest) -> Response:
    return await _export(req, "task")


@router.post(
    "/api/projects/{id:int}/dataset/export", summary="Export a project's dataset", **_EXPORT_DOC
)
async def export_project_dataset(req: ApiRequest) -> Response:
    return await _export(req, "project")


@router.get("/api/requests/{rq_id}/download", summary="Download a finished request's file")
async def download_result(req: ApiRequest) -> Response:
    async with req.container.pool.connection() as conn:
        row = await requests.get(conn, str(req.path["rq_id"]))
    user = req.principal
    if row is None or (row.owner_id != user.id and not user.is_admin):
        raise not_found("Request not found.")
    if row.status != "finished":
        raise bad_request("rq_id", f"The request is {row.status}; its file is not ready.")
    filename = row.params.get("filename")
    data_dir = req.container.settings.data_dir
    path = pipeline.exports_dir(data_dir, row.id) / str(filename) if filename else None
    if path is None or not path.is_file():
        raise not_found("The file of this request is no longer available.")
    # A plain filename= (cvat-sdk reads no other form); names are limited to what it accepts.
    disposition = f'attachment; filename="{path.name}"'
    return FileResponse(
        path, media_type="application/zip", headers={"Content-Disposition": disposition}
    )


# --- import ------------------------------------------------------------------------------

# What each import target takes: the upload's collection (under /api/{target}s/{id}/), the
# multipart field of the one-request form, the request's operation and its arq function.
_IMPORTS: dict[Target, tuple[str, str, str, str]] = {
    "job": ("annotations", "annotation_file", "import:annotations", "import_annotations"),
    "task": ("annotations", "annotation_file", "import:annotations", "import_annotations"),
    "project": ("dataset", "dataset_file", "import:dataset", "import_project_dataset"),
}


def _scope(target: Target, ident: int, user_id: int) -> str:
    return f"{target}:{ident}:{_IMPORTS[target][0]}:user:{user_id}"


async def _import_target(
    req: ApiRequest, target: Target, ident: int
) -> tuple[int | None, int | None, dict[str, Any] | None]:
    """Permission check (404 unseen, 403 refused); returns (task id, project id, source
    storage)."""
    user = req.principal
    async with req.container.pool.connection() as conn:
        if target == "job":
            await access.check_job(conn, user, "import:annotations", ident)
            query = (
                "SELECT j.task_id, t.project_id, t.size, t.source_storage FROM jobs j"
                " JOIN tasks t ON t.id = j.task_id WHERE j.id = %s"
            )
        elif target == "task":
            await access.check_task(conn, user, "import:annotations", ident)
            query = "SELECT id, project_id, size, source_storage FROM tasks WHERE id = %s"
        else:
            await access.check_project(conn, user, "import", ident)
            query = "SELECT NULL::bigint, id, 1, source_storage FROM projects WHERE id = %s"
        cur = await conn.execute(query, [ident])
        row = await cur.fetchone()
    if row is None:
        raise not_found()
    if not row[2]:
        raise bad_request(
            "non_field_errors", "The task has no data: annotations are imported onto its frames."
        )
    return row[0], row[1], row[3] if isinstance(row[3], dict) else None


async def _label_map(
    req: ApiRequest, raw: str | None, task_id: int | None, project_id: int | None
) -> dict[str, str | None]:
    """The label_map parameter: a JSON object whose values are the target's label names
    (or null); a 400 naming what is wrong otherwise (a skeleton point too: CVAT has no
    label map, ours maps whole labels)."""
    if raw is None or not raw.strip():
        return {}
    try:
        found = msgspec.json.decode(raw, type=dict[str, str | None])
    except msgspec.DecodeError as exc:
        raise bad_request(
            "label_map", f'Expected a JSON object of label names, e.g. {{"auto": "car"}} ({exc}).'
        ) from None
    async with req.container.pool.connection() as conn:
        if task_id is not None:
            labels = (await labels_for_task(conn, task_id)).top_level
        else:
            assert project_id is not None
            labels = (await project_export.project_info(conn, project_id)).labels
    names = {label.name for label in labels}
    # a skeleton's points cannot be mapped on their own: they are matched by name under
    # their skeleton's label (which the map may rename)
    points = {sub.name: label.name for label in labels for sub in label.sublabels}
    points |= {f"{parent}.{name}": parent for name, parent in points.items()}
    for target in found.values():
        if target is not None and target not in names and target in points:
            raise bad_request(
                "label_map",
                f"{target!r} is a point of skeleton {points[target]!r}: label_map maps whole "
                "labels; a skeleton's points are matched by name under its (mapped) label.",
            )
    unknown = sorted({v for v in found.values() if v is not None and v not in names})
    if unknown:
        known = ", ".join(repr(n) for n in sorted(names)) or "none"
        raise bad_request(
            "label_map", f"{', '.join(map(repr, unknown))}: not a label here (labels: {known})."
        )
    return found


async def _import_source(
    req: ApiRequest, query: ImportQuery, source_storage: dict[str, Any] | None
) -> tuple[int, str] | None:
    """(cloud storage id, object key) when the file comes from a bucket: location=
    cloud_storage, or no location and the resource's source storage (use_default_location)."""
    location = query.location
    storage_id = query.cloud_storage_id
    if location is None and query.use_default_location and source_storage:
        location = source_storage.get("location")
        storage_id = source_storage.get("cloud_storage_id")
    if location != "cloud_storage":
        return None
    checked = await export_target.check(req.container, req.principal, storage_id)
    if not query.filename:
        raise bad_request("filename", "Required with location=cloud_storage: the object's key.")
    try:
        return checked, pipeline.safe_object_key(query.filename)
    except ValueError as exc:
        raise bad_request("filename", str(exc)) from None


def _is_upload(req: ApiRequest) -> bool:
    headers = req.request.headers
    return (
        "upload-start" in headers
        or "upload-finish" in headers
        or headers.get("content-type", "").startswith("multipart/form-data")
    )


async def _import(req: ApiRequest, target: Target) -> Response:
    ident = int(req.path["id"])
    task_id, project_id, source_storage = await _import_target(req, target, ident)
    what, field, operation, function = _IMPORTS[target]
    query: ImportQuery = req.query
    if target == "project" and query.import_mode not in (None, "replace"):
        raise bad_request(
            "import_mode",
            f"import_mode={query.import_mode} is for annotations of a task or job: a dataset "
            "import into a project always creates new tasks (one per subset).",
        )
    headers = req.request.headers
    cloud = None
    if not _is_upload(req) and "upload-length" not in headers and "tus-resumable" not in headers:
        cloud = await _import_source(req, query, source_storage)
    info = label_map = None
    if _is_upload(req) or cloud is not None:  # the requests that start the work
        try:
            info = registry.importer_for(_format_name(query.format))
        except registry.FormatNotFound as exc:
            raise bad_request("format", str(exc)) from None
        label_map = await _label_map(req, query.label_map, task_id, project_id)
    params: dict[str, Any] = {
        "conv_mask_to_poly": query.conv_mask_to_poly, "label_map": label_map,
        "on_error": query.on_error, "import_mode": query.import_mode or "replace",
    }  # fmt: skip
    if cloud is not None:
        params |= {
            "cloud_storage_id": cloud[0], "cloud_key": cloud[1],
            "filename": pipeline.safe_file_name(cloud[1].rsplit("/", 1)[-1]),
        }  # fmt: skip
    else:
        collection = f"/api/{target}s/{ident}/{what}/"
        received = await file_upload.receive(
            req, _scope(target, ident, req.principal.id), collection, (field,)
        )
        if isinstance(received, Response):
            return received
        params |= {
            "session": received.session, "file": str(received.path),
            "filename": received.filename,
        }  # fmt: skip
    assert info is not None
    async with req.container.pool.connection() as conn:
        rq_id = await requests.create(
            conn, owner_id=req.principal.id,
            operation=requests.Operation(
                type=operation, target=target, task_id=task_id, project_id=project_id,
                job_id=ident if target == "job" else None, format=info.display_name,
            ),
            params=params,
        )  # fmt: skip
    return await enqueue(req, function, rq_id)


_IMPORT_DOC = dict(
    raw_body=True, query=ImportQuery, response=RqId, status=202,
    extra_responses={201: "TUS upload created", 400: "bad parameter, unknown format or label"},
)  # fmt: skip


@router.post(
    "/api/jobs/{id:int}/annotations/",
    summary="Import annotations into a job (Upload-Start / TUS / Upload-Finish)", **_IMPORT_DOC,
)  # fmt: skip
async def import_job_annotations(req: ApiRequest) -> Response:
    return await _import(req, "job")


@router.post(
    "/api/tasks/{id:int}/annotations/",
    summary="Import annotations into a task (Upload-Start / TUS / Upload-Finish)", **_IMPORT_DOC,
)  # fmt: skip
async def import_task_annotations(req: ApiRequest) -> Response:
    return await _import(req, "task")


@router.post(
    "/api/projects/{id:int}/dataset/",
    summary="Import a dataset (images and annotations) into a project, a task per subset",
    **_IMPORT_DOC,
)  # fmt: skip
async def import_project_dataset(req: ApiRequest) -> Response:
    return await _import(req, "project")


async def _tus(req: ApiRequest, target: Target, method: str) -> Response:
    ident = int(req.path["id"])
    await _import_target(req, target, ident)
    scope = _scope(target, ident, req.principal.id)
    if method == "HEAD":
        return await file_upload.tus_head(req, scope)
    return await file_upload.tus_patch(req, scope)


def _tus_routes(target: Target) -> None:
    path = f"/api/{target}s/{{id:int}}/{_IMPORTS[target][0]}/{{file_id}}"

    async def offset(req: ApiRequest) -> Response:
        return await _tus(req, target, "HEAD")

    async def chunk(req: ApiRequest) -> Response:
        return await _tus(req, target, "PATCH")

    offset.__name__ = f"{target}_import_offset"
    chunk.__name__ = f"{target}_import_chunk"
    router.route("HEAD", path, summary="TUS upload offset")(offset)
    router.patch(path, raw_body=True, status=204, summary="TUS upload chunk")(chunk)


for _target in _IMPORTS:
    _tus_routes(_target)
