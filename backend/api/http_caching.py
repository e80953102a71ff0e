"""HTTP caching for task data (frames, chunks, previews, data meta): a strong ETag from
the data set's identity and the request, Last-Modified from when the data set was made,
`Cache-Control: private` (access is checked per request, so no shared cache may keep it),
and 304 Not Modified for a client that already holds the bytes. Also the response that
streams an open file (what the chunk cache hands out)."""

from __future__ import annotations

import email.utils
import hashlib
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import BinaryIO

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

# A data set never changes once made (a task takes data once), so its bytes may be kept
# for long; meta is JSON whose shape follows the server version: always revalidated.
IMMUTABLE = "private, max-age=31536000"
REVALIDATE = "private, no-cache"
_FORMAT = "1"  # bump when the bytes served for the same request change meaning
_READ_BYTES = 256 * 1024


def etag(*parts: object) -> str:
    """A strong validator: the same parts always name the same bytes."""
    text = "\x1f".join([_FORMAT, *(str(p) for p in parts)])
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:40] + '"'


def http_date(iso: str) -> str:
    """ISO-8601 (chunks_updated_date) -> an HTTP date."""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return email.utils.format_datetime(moment.astimezone(UTC), usegmt=True)


def headers(tag: str, updated: str, cache_control: str) -> dict[str, str]:
    return {"ETag": tag, "Last-Modified": http_date(updated), "Cache-Control": cache_control}


def is_fresh(request: Request, tag: str, updated: str) -> bool:
    """RFC 9110: If-None-Match decides when present (weak comparison, `*` matches);
    otherwise If-Modified-Since against the data set's time (to the second)."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        wanted = tag.removeprefix("W/")
        return any(
            candidate.strip().removeprefix("W/") == wanted for candidate in if_none_match.split(",")
        )
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        client = email.utils.parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    if client.tzinfo is None:
        client = client.replace(tzinfo=UTC)
    ours = datetime.fromisoformat(updated.replace("Z", "+00:00")).replace(microsecond=0)
    return ours <= client


def not_modified(cache_headers: Mapping[str, str]) -> Response:
    return Response(status_code=304, headers=dict(cache_headers))


class OpenFileResponse(Response):
    """Streams a file that is already open (it may be unlinked: the chunk cache evicts
    while others read) and closes it however the sending ends."""

    def __init__(
        self, file: BinaryIO, media_type: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(None, status_code=200, headers=headers, media_type=media_type)
        self.file = file
        self.headers["content-length"] = str(os.fstat(file.fileno()).st_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {"type": "http.response.start", "status": self.status_code,
                 "headers": self.raw_headers}
            )  # fmt: skip
            if scope.get("method") == "HEAD":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            while True:
                piece = await anyio.to_thread.run_sync(self.file.read, _READ_BYTES)
                if not piece:
                    break
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.file.close()
