"""Task data over CVAT's upload protocol (Upload-Start, Upload-Multiple batches, TUS for
large files, Upload-Finish with the data parameters) and the reading side: frames, chunks,
previews and data meta for tasks and jobs.

Marker headers arrive with EMPTY values (`Upload-Start: `): their presence is the signal."""

from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

import msgspec
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from backend.api import http_caching, upload_protocol
from backend.api.errors import ApiError, bad_request, from_msgspec, not_found
from backend.api.json_text import NUL_MESSAGE, refuse_unstorable
from backend.api.requests import RqId, enqueue
from backend.api.routing import ApiRequest, ApiRouter
from backend.api.upload_protocol import TUS_VERSION, offset_headers, write_at
from backend.cloud import task_files
from backend.media import (
    archive,
    chunk_cache,
    images,
    manifest,
    pointcloud,
    related,
    serving,
    tasks_port,
    uploads,
    video_build,
)
from backend.media.images import MediaError
from backend.media.serving import DataMetaRead, NotServable
from backend.media.share import Share, ShareError
from backend.media.spec import DataParams
from backend.media.storage import StoredData, TaskStorage
from backend.net import safe_fetch
from backend.services import requests

router = ApiRouter("tasks")

MAX_REQUEST_BYTES = 100 * 2**20  # one multipart request (the clients' MAX_REQUEST_SIZE)
_MULTIPART_SLACK = 2**20  # boundaries and part headers on top of the files
OPERATION = "create:task"
_LIST_FIELD = re.compile(r"^(server_files|server_files_exclude|remote_files)(\[\d+\])?$")


class DataQuery(msgspec.Struct, kw_only=True):
    type: Literal["frame", "chunk", "preview", "context_image"] | None = None
    number: int | None = None
    index: int | None = None
    quality: Literal["compressed", "original"] = "compressed"


# --- helpers ---------------------------------------------------------------------------


def _storage(req: ApiRequest, task_id: int) -> TaskStorage:
    return TaskStorage(req.container.settings.data_dir, task_id)


def _limit_bytes(req: ApiRequest) -> int:
    return req.container.settings.max_upload_mb * 2**20


async def _loaded(req: ApiRequest, task_id: int) -> tuple[TaskStorage, StoredData]:
    await tasks_port.task_for(req.container, req.principal, task_id)
    storage = _storage(req, task_id)
    stored = await asyncio.to_thread(storage.load)
    if stored is None:
        raise not_found("The task has no data.")
    return storage, stored


def _file(body: serving.Body, media_type: str) -> Response:
    if isinstance(body, bytes):
        return Response(body, media_type=media_type)
    if not isinstance(body, Path):  # an open file from the chunk cache
        return http_caching.OpenFileResponse(body, media_type)
    if not body.is_file():
        raise not_found("The requested data is not available.")
    return FileResponse(body, media_type=media_type)


def _cache(req: ApiRequest) -> chunk_cache.ChunkCache:
    """The server's chunk cache (call it in a worker thread: the first call sets it up)."""
    settings = req.container.settings
    return chunk_cache.for_data_dir(settings.data_dir, settings.media_cache_mb)


async def _conditional(
    req: ApiRequest, stored: StoredData, what: tuple[object, ...],
    respond: Callable[[], Awaitable[Response]], cache_control: str = http_caching.IMMUTABLE,
) -> Response:  # fmt: skip
    """ETag / Last-Modified / Cache-Control on a data response; 304 when the client
    already has it (checked after access, before any work). `what` names the request."""
    updated = stored.chunks_updated_date
    tag = http_caching.etag(*what, updated)
    cache_headers = http_caching.headers(tag, updated, cache_control)
    if http_caching.is_fresh(req.request, tag, updated):
        return http_caching.not_modified(cache_headers)
    try:
        response = await respond()
    except MediaError as exc:  # an original that fails to decode when its chunk is made
        raise bad_request("number", str(exc)) from None
    if response.status_code == 200:
        response.headers.update(cache_headers)
    return response


async def _session(req: ApiRequest, task_id: int) -> str:
    """The task's current upload session (one is started if the client skipped it)."""
    async with req.container.pool.connection() as conn:
        session = await uploads.current(conn, task_id)
        if session is None:
            session = await uploads.start(conn, task_id, req.principal.id)
    return session


async def _check_no_data(req: ApiRequest, task: dict[str, Any], storage: TaskStorage) -> None:
    if (task.get("size") or 0) > 0 or await asyncio.to_thread(storage.has_data):
        raise bad_request("non_field_errors", "Adding more data is not supported.")


def _validate_file(path: Path, name: str, limits: archive.ArchiveLimits) -> images.FileKind:
    with path.open("rb") as head:
        if manifest.looks_like_manifest(head.read(256)):
            manifest.read(path, name)  # a broken manifest is refused here, naming the line
            return "manifest"
    kind = images.sniff(path, name)
    if kind == "archive":
        archive.list_members(path, name, limits)
    return kind


def _archive_limits(req: ApiRequest) -> archive.ArchiveLimits:
    return archive.ArchiveLimits(max_unpacked_bytes=4 * _limit_bytes(req))


# --- POST /api/tasks/{id}/data/ ----------------------------------------------------------


@router.post(
    "/api/tasks/{id:int}/data/", raw_body=True, body=DataParams, response=RqId, status=202,
    summary="Upload task data (Upload-Start / Upload-Multiple / TUS / Upload-Finish)",
    extra_responses={200: "files received", 201: "TUS upload created"},
)  # fmt: skip
async def upload_data(req: ApiRequest) -> Any:
    task_id = int(req.path["id"])
    task = await tasks_port.task_for(req.container, req.principal, task_id, "upload:data")
    storage = _storage(req, task_id)
    headers = req.request.headers
    if "upload-start" in headers:
        await _check_no_data(req, task, storage)
        async with req.container.pool.connection() as conn:
            session = await uploads.start(conn, task_id, req.principal.id)
        await asyncio.to_thread(storage.drop_uploads, session)
        return Response(status_code=202)
    if "upload-multiple" in headers:
        session = await _session(req, task_id)
        await _receive_multipart(req, task_id, session)
        return Response(b"{}", status_code=200, media_type="application/json")
    if "upload-finish" in headers:
        params = await _params_from_body(req.request)
        return await _finish(req, task, storage, params)
    if "upload-length" in headers or "tus-resumable" in headers:
        return await _tus_create(req, task_id)
    # No marker: CVAT's one-request form (multipart files + parameters), or JSON.
    content_type = headers.get("content-type", "")
    # A form without files (curl -d, as DRF's FormParser takes it) reads like a multipart one.
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        await _check_no_data(req, task, storage)
        async with req.container.pool.connection() as conn:
            session = await uploads.start(conn, task_id, req.principal.id)
        fields = await _receive_multipart(req, task_id, session)
        try:
            try:
                params = msgspec.convert(fields, DataParams, strict=False)
            except msgspec.ValidationError as exc:
                raise from_msgspec(exc, "body") from None
            return await _finish(req, task, storage, params)
        except ApiError:
            # This request's files came with parameters that were refused: nothing is kept
            # (no later Upload-Finish can name this session; a new request starts another).
            async with req.container.pool.connection() as conn:
                await uploads.end(conn, task_id, session)
            await asyncio.to_thread(shutil.rmtree, storage.session_dir(session), True)
            raise
    params = await _params_from_body(req.request)
    return await _finish(req, task, storage, params)


async def _params_from_body(request: Request) -> DataParams:
    raw = await upload_protocol.limited(request, 2**20).body()
    refuse_unstorable(raw)
    try:
        return msgspec.json.decode(raw if raw.strip() else b"{}", type=DataParams)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise from_msgspec(exc, "body") from None


async def _receive_multipart(req: ApiRequest, task_id: int, session: str) -> dict[str, Any]:
    """Store every `client_files[i]` of one multipart request, all or nothing: a bad file
    is a 400 naming it, and none of this request's files is kept. Returns the other
    fields (data parameters in the one-request form)."""
    storage = _storage(req, task_id)
    files_dir = storage.upload_files_dir(session)
    request = upload_protocol.limited(req.request, MAX_REQUEST_BYTES + _MULTIPART_SLACK)
    stored: list[uploads.UploadedFile] = []
    fields: dict[str, Any] = {}
    limits = _archive_limits(req)
    try:
        async with request.form(max_files=10_000, max_fields=1_000) as form:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if not key.startswith("client_files"):
                        continue
                    stored.append(await _store_part(value, files_dir, limits))
                elif "\x00" in value:
                    raise MediaError(f"{key}: {NUL_MESSAGE}")
                elif key == "upload_file_order":
                    fields.setdefault(key, []).append(value)
                elif (listed := _LIST_FIELD.match(key)) is not None:  # server_files[0], ...
                    fields.setdefault(listed.group(1), []).append(value)
                else:
                    fields[key] = value
    except MediaError as exc:
        _discard(files_dir, stored)
        raise bad_request("client_files", str(exc)) from None
    except BaseException:
        _discard(files_dir, stored)
        raise
    names = [f.name for f in stored]
    if len(set(names)) != len(names):
        _discard(files_dir, stored)
        dup = next(n for n in names if names.count(n) > 1)
        raise bad_request("client_files", f"{dup}: the request holds two files of this name")
    async with req.container.pool.connection() as conn:
        total = await uploads.received_bytes(conn, session) + sum(f.size for f in stored)
        if total > _limit_bytes(req):
            _discard(files_dir, stored)
            raise ApiError(413, f"The task's files add up to more than {_limit_bytes(req)} bytes.")
        replaced = await uploads.add_files(conn, session, stored)
    for disk_name in replaced:
        (files_dir / disk_name).unlink(missing_ok=True)
    return fields


async def _store_part(
    part: UploadFile, files_dir: Path, limits: archive.ArchiveLimits
) -> uploads.UploadedFile:
    name = uploads.client_basename(part.filename or "")
    disk_name = uuid.uuid4().hex
    target = files_dir / disk_name

    def save() -> uploads.UploadedFile:
        files_dir.mkdir(parents=True, exist_ok=True)
        part.file.seek(0)
        with target.open("wb") as out:
            shutil.copyfileobj(part.file, out, 1024 * 1024)
        try:
            kind = _validate_file(target, name, limits)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return uploads.UploadedFile(name, disk_name, kind, target.stat().st_size)

    return await asyncio.to_thread(save)


def _discard(files_dir: Path, stored: list[uploads.UploadedFile]) -> None:
    for item in stored:
        (files_dir / item.disk_name).unlink(missing_ok=True)


async def _finish(
    req: ApiRequest, task: dict[str, Any], storage: TaskStorage, params: DataParams
) -> Response:
    problems = params.problems()
    if problems:
        raise ApiError(400, problems)
    await _check_sources(req, params)
    task_id = int(task["id"])
    await _check_no_data(req, task, storage)
    async with req.container.pool.connection() as conn:
        session = await uploads.current(conn, task_id)
        received = [] if session is None else await uploads.files(conn, session)
        if session is not None:
            cur = await conn.execute(
                'SELECT filename FROM tus_uploads WHERE session = %s AND "offset" < length',
                [session],
            )
            unfinished = [r[0] for r in await cur.fetchall()]
            if unfinished:
                raise bad_request(
                    "client_files", f"{unfinished[0]}: the upload of this file is incomplete"
                )
        elsewhere = params.server_files or params.remote_files
        if not received and not elsewhere and params.cloud_storage_id is None:
            raise bad_request("client_files", "No media data found: upload files first.")
        if not elsewhere and params.cloud_storage_id is None:
            _check_2d_3d_mix(received)
        _check_one_video(received)
        async with conn.transaction():
            # Check and insert under one per-task lock: two requests sent at once both
            # passed the check and built the task's data side by side.
            await conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_CREATE_LOCK, task_id])
            if await requests.active_for_task(conn, task_id, OPERATION):
                raise ApiError(409, "The data of this task is already being created.")
            rq_id = await requests.create(
                conn, owner_id=req.principal.id,
                operation=requests.Operation(type=OPERATION, target="task", task_id=task_id,
                                             project_id=task.get("project_id")),
                params={"session": session, "data": msgspec.to_builtins(params)},
            )  # fmt: skip
    return await enqueue(req, "create_task_data", rq_id)


_MAX_PATH_CHARS = 1024
# Advisory lock class (two-key form, apart from the one-key locks) for creating task data.
_CREATE_LOCK = 0x7664


def _check_2d_3d_mix(received: list[uploads.UploadedFile]) -> None:
    """Images uploaded beside point clouds must be their context images (related.py; for
    uploaded files: the same name with an image extension). Archive contents are checked
    when the task is built."""
    kinds = {f.kind for f in received}
    if "pointcloud" not in kinds or "archive" in kinds:
        return
    clouds = [pointcloud.pcd_name(f.name) for f in received if f.kind == "pointcloud"]
    plain = related.layout_3d(clouds, [f.name for f in received if f.kind == "image"]).plain
    if plain:
        raise bad_request("client_files", related.mixed_message(plain))


def _check_one_video(received: list[uploads.UploadedFile]) -> None:
    """A video task takes one video and no other files but its manifest.jsonl (the
    worker checks again with the share, remote and archive contents)."""
    videos = [f.name for f in received if f.kind == "video"]
    others = [f.name for f in received if f.kind != "manifest" and f.name not in videos[:1]]
    if videos and others:
        raise bad_request("client_files", video_build.mixed_message(videos[0], others))


async def _check_sources(req: ApiRequest, params: DataParams) -> None:
    """What can be checked cheaply before queueing: share paths exist inside the share,
    remote URLs are well-formed http(s) URLs not aimed at a forbidden address literal,
    and no two of them give the same file name. The worker checks everything again."""
    settings = req.container.settings
    for field, entries in (
        ("server_files", params.server_files),
        ("remote_files", params.remote_files),
    ):
        for entry in entries:
            if len(entry) > _MAX_PATH_CHARS:  # CVAT's ServerFile/RemoteFile max_length
                raise bad_request(
                    field, f"{entry[:80]}...: longer than {_MAX_PATH_CHARS} characters"
                )
    await task_files.check_request(req.container, req.principal, params)  # cloud storage
    if params.server_files and params.cloud_storage_id is None:
        share = Share.configured(settings.share_root)
        if share is None:
            raise bad_request(
                "server_files", "This server has no share (VELLUM_SHARE_ROOT is not set)."
            )
        try:
            await asyncio.to_thread(share.check, params.server_files)
        except ShareError as exc:
            raise bad_request("server_files", str(exc)) from None
    policy = safe_fetch.FetchPolicy.from_settings(settings)
    names: dict[str, str] = {}
    for url in params.remote_files:
        problem = safe_fetch.early_problem(url, policy)
        if problem is not None:
            raise bad_request("remote_files", problem)
        name = safe_fetch.url_file_name(url)
        if name is not None and name in names:
            raise bad_request(
                "remote_files", f"{url}: gives the same file name ({name}) as {names[name]}"
            )
        if name is not None:
            names[name] = url


# --- TUS ---------------------------------------------------------------------------------


async def _tus_create(req: ApiRequest, task_id: int) -> Response:
    length, name = upload_protocol.tus_create_params(req.request.headers)
    session = await _session(req, task_id)
    async with req.container.pool.connection() as conn:
        if await uploads.received_bytes(conn, session) + length > _limit_bytes(req):
            raise ApiError(413, f"The task's files add up to more than {_limit_bytes(req)} bytes.")
        upload = await uploads.create_tus(conn, session, task_id, name, length)
    path = _storage(req, task_id).tus_dir(session) / upload.id
    await asyncio.to_thread(upload_protocol.create_empty, path)
    if length == 0:
        await _tus_complete(req, upload)
    location = req.absolute_url(f"/api/tasks/{task_id}/data/{upload.id}")
    return Response(
        status_code=201,
        headers={
            "Location": location, "Upload-Filename": name, "Tus-Resumable": TUS_VERSION,
            "Upload-Offset": "0",
        },
    )  # fmt: skip


async def _tus_upload(req: ApiRequest) -> uploads.TusUpload:
    task_id = int(req.path["id"])
    await tasks_port.task_for(req.container, req.principal, task_id, "upload:data")
    async with req.container.pool.connection() as conn:
        upload = await uploads.get_tus(conn, task_id, str(req.path["file_id"]))
    if upload is None:
        raise not_found("Upload not found.")
    return upload


@router.route("HEAD", "/api/tasks/{id:int}/data/{file_id}", summary="TUS upload offset")
async def tus_offset(req: ApiRequest) -> Response:
    upload = await _tus_upload(req)
    return Response(status_code=200, headers=offset_headers(upload.length, upload.offset))


@router.patch(
    "/api/tasks/{id:int}/data/{file_id}", raw_body=True, status=204,
    summary="TUS upload chunk",
)  # fmt: skip
async def tus_chunk(req: ApiRequest) -> Response:
    upload = await _tus_upload(req)
    offset = upload_protocol.patch_offset(req.request.headers)
    if offset != upload.offset:
        return Response(status_code=409, headers=offset_headers(upload.length, upload.offset))
    request = upload_protocol.limited(req.request, upload_protocol.MAX_TUS_CHUNK_BYTES)
    path = _storage(req, upload.task_id).tus_dir(upload.session) / upload.id
    written = await write_at(path, offset, upload.length, request.stream())
    async with req.container.pool.connection() as conn:
        if not await uploads.advance_tus(conn, upload.id, offset, offset + written):
            fresh = await uploads.get_tus(conn, upload.task_id, upload.id)
            current = fresh.offset if fresh else offset
            return Response(status_code=409, headers=offset_headers(upload.length, current))
    new_offset = offset + written
    if new_offset == upload.length:
        await _tus_complete(req, upload)
    return Response(status_code=204, headers=offset_headers(upload.length, new_offset))


async def _tus_complete(req: ApiRequest, upload: uploads.TusUpload) -> None:
    """A finished TUS file joins the session's files, or is refused (400 naming it)."""
    storage = _storage(req, upload.task_id)
    source = storage.tus_dir(upload.session) / upload.id
    files_dir = storage.upload_files_dir(upload.session)
    disk_name = uuid.uuid4().hex
    limits = _archive_limits(req)

    def move() -> uploads.UploadedFile:
        try:
            kind = _validate_file(source, upload.filename, limits)
        except BaseException:
            source.unlink(missing_ok=True)
            raise
        files_dir.mkdir(parents=True, exist_ok=True)
        source.rename(files_dir / disk_name)
        return uploads.UploadedFile(upload.filename, disk_name, kind, upload.length)

    try:
        item = await asyncio.to_thread(move)
    except MediaError as exc:
        async with req.container.pool.connection() as conn:
            await uploads.drop_tus(conn, upload.id)
        raise bad_request("client_files", str(exc)) from None
    async with req.container.pool.connection() as conn:
        replaced = await uploads.add_files(conn, upload.session, [item])
    for old in replaced:
        (files_dir / old).unlink(missing_ok=True)


# --- reading -----------------------------------------------------------------------------


async def _serve(
    req: ApiRequest,
    storage: TaskStorage,
    stored: StoredData,
    chunk: Callable[[DataQuery], serving.Body],
    frame_ok: Callable[[int], bool],
    preview: Callable[[], serving.Body],
) -> Response:
    query: DataQuery = req.query
    try:
        if query.type is None:
            raise NotServable("type", "This field is required: frame, chunk or preview.")
        if query.type == "preview":
            return _file(await asyncio.to_thread(preview), "image/jpeg")
        if query.number is None and not (query.type == "chunk" and query.index is not None):
            raise NotServable("number", "This field is required.")
        if query.type == "context_image":
            assert query.number is not None
            if not frame_ok(query.number):
                raise NotServable("number", f"Incorrect requested frame number: {query.number}")
            context = serving.context_images(storage, stored, query.number)
            if context is None:
                raise not_found(f"Frame {query.number} has no context images.")
            return _file(context, "application/zip")
        if query.type == "frame":
            assert query.number is not None
            if not frame_ok(query.number):
                raise NotServable("number", f"Incorrect requested frame number: {query.number}")
            number, quality = query.number, query.quality
            path, mime = await asyncio.to_thread(
                lambda: serving.frame(storage, stored, number, quality, _cache(req))
            )
            return _file(path, mime)
        video_chunk = stored.spec.chunk_type(query.quality) == "video"  # video tasks' mp4s
        mime = "video/mp4" if video_chunk else "application/zip"
        return _file(await asyncio.to_thread(chunk, query), mime)
    except NotServable as exc:
        raise bad_request(exc.field, exc.message) from None


@router.get("/api/tasks/{id:int}/data/", query=DataQuery, summary="Task frames, chunks and preview")
async def task_data(req: ApiRequest) -> Response:
    storage, stored = await _loaded(req, int(req.path["id"]))

    def chunk(q: DataQuery) -> serving.Body:
        number = q.number if q.number is not None else q.index
        return serving.task_chunk(storage, stored, number or 0, q.quality, _cache(req))

    q: DataQuery = req.query
    return await _conditional(
        req, stored, ("task", storage.task_id, q.type, q.number, q.index, q.quality),
        lambda: _serve(req, storage, stored, chunk, lambda n: True, storage.preview),
    )  # fmt: skip


def _json(meta: DataMetaRead) -> Response:
    return Response(msgspec.json.encode(meta), media_type="application/json")


@router.get("/api/tasks/{id:int}/data/meta", response=DataMetaRead, summary="Task data meta")
async def task_data_meta(req: ApiRequest) -> Response:
    storage, stored = await _loaded(req, int(req.path["id"]))

    async def respond() -> Response:
        return _json(serving.task_meta(stored))

    what = ("task-meta", storage.task_id)
    return await _conditional(req, stored, what, respond, http_caching.REVALIDATE)


@router.get("/api/tasks/{id:int}/preview", summary="Task preview (JPEG)")
async def task_preview(req: ApiRequest) -> Response:
    storage, stored = await _loaded(req, int(req.path["id"]))

    async def respond() -> Response:
        return _file(storage.preview(), "image/jpeg")

    return await _conditional(req, stored, ("task-preview", storage.task_id), respond)


async def _job_loaded(
    req: ApiRequest,
) -> tuple[dict[str, Any], TaskStorage, StoredData]:
    job = await tasks_port.job_for(req.container, req.principal, int(req.path["id"]))
    task_id = int(job["task_id"])
    storage = _storage(req, task_id)
    stored = await asyncio.to_thread(storage.load)
    if stored is None:
        raise not_found("The task has no data.")
    return job, storage, stored


@router.get("/api/jobs/{id:int}/data", query=DataQuery, summary="Job frames, chunks, preview")
async def job_data(req: ApiRequest) -> Response:
    job, storage, stored = await _job_loaded(req)
    members = set(serving.job_frames(job, stored.spec.size))

    def chunk(q: DataQuery) -> serving.Body:
        return serving.job_chunk(
            storage, stored, job, q.quality,
            number=q.number if q.index is None else None, index=q.index, cache=_cache(req),
        )  # fmt: skip

    q: DataQuery = req.query
    # A job's frames never change once it exists, so the job id stands for them.
    return await _conditional(
        req, stored, ("job", job["id"], q.type, q.number, q.index, q.quality),
        lambda: _serve(
            req, storage, stored, chunk, members.__contains__,
            lambda: serving.job_preview(storage, stored, job, _cache(req)),
        ),
    )  # fmt: skip


@router.get("/api/jobs/{id:int}/data/meta", response=DataMetaRead, summary="Job data meta")
async def job_data_meta(req: ApiRequest) -> Response:
    job, _, stored = await _job_loaded(req)

    async def respond() -> Response:
        return _json(serving.job_meta(stored, job))

    what = ("job-meta", job["id"])
    return await _conditional(req, stored, what, respond, http_caching.REVALIDATE)


@router.get("/api/jobs/{id:int}/preview", summary="Job preview (JPEG)")
async def job_preview(req: ApiRequest) -> Response:
    job, storage, stored = await _job_loaded(req)

    async def respond() -> Response:
        cache = await asyncio.to_thread(_cache, req)
        body = await asyncio.to_thread(serving.job_preview, storage, stored, job, cache)
        return _file(body, "image/jpeg")

    return await _conditional(req, stored, ("job-preview", job["id"]), respond)
