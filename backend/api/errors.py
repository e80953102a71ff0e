"""The one place where errors become HTTP responses, in CVAT's (DRF's) shape:
validation errors as {"field": ["message", ...]}, everything else as {"detail": "message"}.
Bad input is a 4xx that names the problem; only a bug is a 500 (logged, no traceback out)."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from backend.api.responses import json_response
from backend.domain.errors import Conflict, DomainError, NotFound
from backend.eventstore.port import WrongExpectedRevision
from backend.projections.runner import ProjectionLag

log = structlog.get_logger(__name__)


class ApiError(Exception):
    """An expected error: `status`, the body (`detail`) and headers sent with it
    (e.g. Retry-After on a 429)."""

    def __init__(
        self,
        status: int,
        detail: str | dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})
        super().__init__(str(detail))

    def body(self) -> dict[str, Any]:
        return self.detail if isinstance(self.detail, dict) else {"detail": self.detail}


def bad_request(field: str, message: str) -> ApiError:
    return ApiError(400, {field: [message]})


def not_found(what: str = "Not found.") -> ApiError:
    return ApiError(404, what)


def permission_denied(
    message: str = "You do not have permission to perform this action.",
) -> ApiError:
    return ApiError(403, message)


NOT_AUTHENTICATED = ApiError(401, "Authentication credentials were not provided.")

_AT_PATH = re.compile(r"^(?P<msg>.*?) - at `\$(?P<path>[^`]*)`$")


def from_msgspec(exc: msgspec.ValidationError | msgspec.DecodeError, where: str) -> ApiError:
    """msgspec says `Expected int, got str - at $.shapes[0].frame`: name the field."""
    text = str(exc)
    match = _AT_PATH.match(text)
    if match is None:
        return ApiError(400, {where: [text]})
    path = match.group("path").lstrip(".") or where
    return ApiError(400, {path: [match.group("msg")]})


def from_domain(exc: DomainError) -> ApiError:
    if isinstance(exc, NotFound) and exc.field is None:
        return ApiError(404, exc.message)
    status = 409 if isinstance(exc, Conflict) else 400
    return ApiError(status, {exc.field or "non_field_errors": [exc.message]})


async def handle(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException):  # unknown path, wrong method
        return json_response({"detail": exc.detail}, exc.status_code)
    if isinstance(exc, ApiError):
        response = json_response(exc.body(), exc.status)
        response.headers.update(exc.headers)
        return response
    if isinstance(exc, DomainError):
        error = from_domain(exc)
        return json_response(error.body(), error.status)
    if isinstance(exc, msgspec.ValidationError | msgspec.DecodeError):
        error = from_msgspec(exc, "body")
        return json_response(error.body(), error.status)
    if isinstance(exc, WrongExpectedRevision):
        return json_response({"detail": "The resource was changed concurrently; retry."}, 409)
    if isinstance(exc, ProjectionLag):
        response = json_response({"detail": "The server is catching up; retry shortly."}, 503)
        response.headers["Retry-After"] = "1"
        return response
    log.exception("unhandled error", path=request.url.path, method=request.method)
    return json_response({"detail": "Internal server error."}, 500)


# Expected errors: answered by the handler above without a traceback in the log. Anything
# else reaches the server-error handler (also `handle`), which logs it as the bug it is.
EXPECTED: tuple[type[Exception], ...] = (
    HTTPException,
    ApiError,
    DomainError,
    msgspec.ValidationError,
    msgspec.DecodeError,
    WrongExpectedRevision,
    ProjectionLag,
)
