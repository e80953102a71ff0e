"""The pieces of CVAT's upload protocol that every upload endpoint shares: body limits,
TUS creation headers, offset headers and writing a PATCH body at its offset.

Used by task data (backend/api/task_data.py) and by single-file uploads
(backend/api/file_upload.py: annotation and dataset imports, backup restores)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import Message

from backend.api.errors import ApiError, bad_request, not_found
from backend.media import uploads
from backend.media.images import MediaError

TUS_VERSION = "1.0.0"
MAX_TUS_CHUNK_BYTES = 10 * 2**20  # one TUS PATCH body (the clients' TUS_CHUNK_SIZE)


def limited(request: Request, max_bytes: int) -> Request:
    """The same request, refusing (413) a body past `max_bytes` while it streams in."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(413, f"The request body is larger than {max_bytes} bytes.")
    seen = 0
    receive = request.receive

    async def counting() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                raise ApiError(413, f"The request body is larger than {max_bytes} bytes.")
        return message

    return Request(request.scope, counting)


def tus_create_params(headers: Headers) -> tuple[int, str]:
    """(Upload-Length, the file's base name from Upload-Metadata) of a TUS create request,
    or a 400 naming the header."""
    length_text = headers.get("upload-length", "")
    if not length_text.isdigit():
        raise bad_request("Upload-Length", "A non-negative integer is required.")
    try:
        meta = uploads.parse_tus_metadata(headers.get("upload-metadata", ""))
        name = uploads.client_basename(meta.get("filename", ""))
    except MediaError as exc:
        raise bad_request("Upload-Metadata", str(exc)) from None
    return int(length_text), name


def offset_headers(length: int, offset: int) -> dict[str, str]:
    return {
        "Upload-Offset": str(offset), "Upload-Length": str(length),
        "Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store",
    }  # fmt: skip


def patch_offset(headers: Headers) -> int:
    offset_text = headers.get("upload-offset", "")
    if not offset_text.isdigit():
        raise bad_request("Upload-Offset", "A non-negative integer is required.")
    return int(offset_text)


async def write_at(path: Path, offset: int, length: int, body: AsyncIterator[bytes]) -> int:
    """Append the streamed body at `offset`; refuse bytes past the declared length."""
    written = 0
    handle = await asyncio.to_thread(_open_at, path, offset)
    try:
        async for piece in body:
            if not piece:
                continue
            if offset + written + len(piece) > length:
                raise bad_request("Upload-Length", "The data goes past the declared length.")
            await asyncio.to_thread(handle.write, piece)
            written += len(piece)
    finally:
        await asyncio.to_thread(handle.close)
    return written


def _open_at(path: Path, offset: int) -> Any:
    if not path.is_file():
        raise not_found("Upload not found.")
    handle = path.open("r+b")
    handle.truncate(offset)  # drop what a failed earlier attempt left past the offset
    handle.seek(offset)
    return handle


def create_empty(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
