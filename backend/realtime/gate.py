"""Who is on the other end of a websocket: the IAM code of HTTP, applied to the upgrade
request (backend/iam/auth.py), plus what HTTP's CSRF check does for browsers.

* `Authorization` header (Bearer / Token / Basic), as for HTTP;
* `?token=<value>` for clients that cannot set headers on a websocket (a personal access
  token, or the legacy key of POST /api/auth/login);
* the `sessionid` cookie for browsers, only with an `Origin` this server allows (a page of
  another site could otherwise open a socket with the user's cookie).

A read-only access token may subscribe but not send ops (`can_write` is False).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.websockets import WebSocket

from backend.api.errors import ApiError
from backend.iam.auth import authenticate, origin_allowed
from backend.iam.principal import User

if TYPE_CHECKING:
    from backend.bootstrap import Container


def _request(ws: WebSocket, method: str, authorization: str | None) -> Request:
    """The upgrade request as the HTTP authentication code sees it."""
    scope: dict[str, Any] = dict(ws.scope)
    scope["type"] = "http"
    scope["method"] = method
    if authorization is not None:
        headers = [(k, v) for k, v in scope["headers"] if k != b"authorization"]
        headers.append((b"authorization", authorization.encode()))
        scope["headers"] = headers
    return Request(scope)


async def _query_token_user(ws: WebSocket, container: Container, token: str) -> tuple[User, str]:
    try:
        header = f"Bearer {token}"
        return await authenticate(_request(ws, "GET", header), container) or _nobody(), header
    except ApiError as exc:
        if exc.status != 401:
            raise
    header = f"Token {token}"
    return await authenticate(_request(ws, "GET", header), container) or _nobody(), header


def _nobody() -> User:
    raise ApiError(401, "Authentication credentials were not provided.")


async def authenticate_socket(ws: WebSocket, container: Container) -> tuple[User, bool]:
    """The user and whether the credentials allow edits. ApiError (401/403) otherwise."""
    header = ws.headers.get("authorization")
    token = ws.query_params.get("token")
    if header is None and token:
        user, header = await _query_token_user(ws, container, token)
    else:
        user = await authenticate(_request(ws, "GET", None), container) or _nobody()
        if header is None:  # a browser session cookie: the origin must be ours
            origin = ws.headers.get("origin")
            request = _request(ws, "GET", None)
            if origin is None or not origin_allowed(
                request, origin, container.settings.csrf_trusted_origins
            ):
                raise ApiError(403, f"Origin {origin!r} is not allowed.")
            return user, True
    can_write = True
    if user.auth_method == "access_token":
        try:  # the same check HTTP makes for an unsafe method (read-only tokens fail it)
            await authenticate(_request(ws, "POST", header), container)
        except ApiError as exc:
            if exc.status != 403:
                raise
            can_write = False
    return user, can_write
