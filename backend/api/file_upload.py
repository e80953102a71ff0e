"""CVAT's single-file upload protocol for one collection URL U (annotation and dataset
imports, backup restores):

    POST U?query        Upload-Start: (empty)        -> 202, a new session for this scope
    POST U              Upload-Length, Upload-Metadata (TUS create)
                                                     -> 201, Location U<file_id>, Upload-Filename
    PATCH/HEAD U<file_id>                            -> 204 / 200 with Upload-Offset
    POST U?query&filename=  Upload-Finish: (empty)   -> the caller queues the work: 202 {rq_id}
    POST U?query        multipart with the file      -> the same, in one request (older clients)

A scope names the target and the user ('task:7:annotations:user:3'), so a user's upload never
mixes with another's, nor with task data uploads. The endpoint module owns the routes and
the permission checks; this module owns the protocol. The generic TUS pieces are shared
with task data (backend/api/upload_protocol.py)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from starlette.datastructures import UploadFile
from starlette.responses import Response

from backend.api import upload_protocol
from backend.api.errors import ApiError, bad_request, not_found
from backend.api.routing import ApiRequest
from backend.media import file_uploads, uploads
from backend.media.images import MediaError

if TYPE_CHECKING:
    from backend.bootstrap import Container

_MULTIPART_SLACK = 2**20


class Received(NamedTuple):
    """A finished upload, ready for the work it was sent for. The file belongs to the
    session: `consume` removes both once the work is done (or refused)."""

    path: Path
    filename: str
    session: str


def _max_bytes(req: ApiRequest) -> int:
    return req.container.settings.max_upload_mb * 2**20


async def receive(
    req: ApiRequest, scope: str, collection: str, file_fields: tuple[str, ...] = ()
) -> Response | Received:
    """One request of the protocol on `collection` (the path of U, ending with '/').
    Returns a response to send, or the finished file for the caller to queue."""
    headers = req.request.headers
    data_dir = req.container.settings.data_dir
    if "upload-start" in headers:
        async with req.container.pool.connection() as conn:
            dropped = await file_uploads.drop_abandoned(conn)
            _, old = await file_uploads.start(conn, scope, req.principal.id)
        for spent in [*dropped, *([old] if old else [])]:
            await asyncio.to_thread(file_uploads.remove_files, data_dir, spent)
        return Response(status_code=202)
    if "upload-finish" in headers:
        filename = req.request.query_params.get("filename", "")
        async with req.container.pool.connection() as conn:
            session = await file_uploads.current(conn, scope)
            upload = None
            if session is not None and filename:
                upload = await file_uploads.finished_named(conn, session, filename)
        if session is None or upload is None:
            raise bad_request(
                "filename",
                f"{filename!r}: no finished upload of this name; send Upload-Start and the "
                "file first",
            )
        return Received(file_uploads.file_path(data_dir, upload), filename, session)
    if "upload-length" in headers or "tus-resumable" in headers:
        return await _tus_create(req, scope, collection)
    if headers.get("content-type", "").startswith("multipart/form-data"):
        return await _multipart(req, scope, file_fields)
    raise bad_request(
        "non_field_errors",
        "Send the file with the upload protocol (Upload-Start, TUS, Upload-Finish) or as "
        f"multipart form data ({', '.join(file_fields) or 'file'}).",
    )


async def _new_session(req: ApiRequest, scope: str) -> str:
    async with req.container.pool.connection() as conn:
        session = await file_uploads.current(conn, scope)
        if session is None:
            session, _ = await file_uploads.start(conn, scope, req.principal.id)
    return session


async def _tus_create(req: ApiRequest, scope: str, collection: str) -> Response:
    length, name = upload_protocol.tus_create_params(req.request.headers)
    if length > _max_bytes(req):
        raise ApiError(413, f"The file is larger than {_max_bytes(req)} bytes.")
    session = await _new_session(req, scope)
    async with req.container.pool.connection() as conn:
        upload = await file_uploads.create(conn, session, name, length)
    path = file_uploads.file_path(req.container.settings.data_dir, upload)
    await asyncio.to_thread(upload_protocol.create_empty, path)
    return Response(
        status_code=201,
        headers={
            "Location": req.absolute_url(collection.rstrip("/") + "/" + upload.id),
            "Upload-Filename": name, "Tus-Resumable": upload_protocol.TUS_VERSION,
            "Upload-Offset": "0",
        },
    )  # fmt: skip


async def _upload(req: ApiRequest, scope: str) -> file_uploads.FileUpload:
    async with req.container.pool.connection() as conn:
        session = await file_uploads.current(conn, scope)
        upload = (
            None
            if session is None
            else await file_uploads.get(conn, session, str(req.path["file_id"]))
        )
    if upload is None:
        raise not_found("Upload not found.")
    return upload


async def tus_head(req: ApiRequest, scope: str) -> Response:
    upload = await _upload(req, scope)
    return Response(
        status_code=200, headers=upload_protocol.offset_headers(upload.length, upload.offset)
    )


async def tus_patch(req: ApiRequest, scope: str) -> Response:
    upload = await _upload(req, scope)
    offset = upload_protocol.patch_offset(req.request.headers)
    if offset != upload.offset:
        return Response(
            status_code=409, headers=upload_protocol.offset_headers(upload.length, upload.offset)
        )
    request = upload_protocol.limited(req.request, upload_protocol.MAX_TUS_CHUNK_BYTES)
    path = file_uploads.file_path(req.container.settings.data_dir, upload)
    written = await upload_protocol.write_at(path, offset, upload.length, request.stream())
    async with req.container.pool.connection() as conn:
        if not await file_uploads.advance(conn, upload.id, offset, offset + written):
            fresh = await file_uploads.get(conn, upload.session, upload.id)
            current = fresh.offset if fresh else offset
            return Response(
                status_code=409, headers=upload_protocol.offset_headers(upload.length, current)
            )
    return Response(
        status_code=204, headers=upload_protocol.offset_headers(upload.length, offset + written)
    )


async def _multipart(req: ApiRequest, scope: str, file_fields: tuple[str, ...]) -> Received:
    """CVAT's one-request form: the file in a multipart field (annotation_file, ...)."""
    data_dir = req.container.settings.data_dir
    async with req.container.pool.connection() as conn:
        session, old = await file_uploads.start(conn, scope, req.principal.id)
    if old is not None:
        await asyncio.to_thread(file_uploads.remove_files, data_dir, old)
    request = upload_protocol.limited(req.request, _max_bytes(req) + _MULTIPART_SLACK)
    async with request.form(max_files=1, max_fields=100) as form:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile) and (not file_fields or key in file_fields):
                try:
                    name = uploads.client_basename(value.filename or "")
                except MediaError as exc:
                    raise bad_request(key, str(exc)) from None
                return await _keep(req, session, name, value)
    raise bad_request(file_fields[0] if file_fields else "file", "No file was sent.")


async def _keep(req: ApiRequest, session: str, name: str, part: UploadFile) -> Received:
    async with req.container.pool.connection() as conn:
        upload = await file_uploads.create(conn, session, name, 0)
    path = file_uploads.file_path(req.container.settings.data_dir, upload)

    def save() -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        part.file.seek(0)
        with path.open("wb") as out:
            shutil.copyfileobj(part.file, out, 1024 * 1024)
        return path.stat().st_size

    size = await asyncio.to_thread(save)
    async with req.container.pool.connection() as conn:
        await file_uploads.mark_complete(conn, upload.id, size)
    return Received(path, name, session)


async def consume(container: Container, session: str) -> None:
    """The session's work is done (or refused): forget it and remove its files."""
    async with container.pool.connection() as conn:
        await file_uploads.end(conn, session)
    await asyncio.to_thread(file_uploads.remove_files, container.settings.data_dir, session)
