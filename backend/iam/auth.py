"""Authentication of a request: who is calling, or None for an anonymous request.

Accepted credentials, in this order (a header wins over cookies, as in CVAT):

* ``Authorization: Bearer <personal access token>`` (tokens.py). A read-only token may only
  make safe requests (GET/HEAD/OPTIONS).
* ``Authorization: Token <key>``: the legacy key that POST /api/auth/login returns.
* ``Authorization: Basic <user:password>``: accepted on every endpoint as CVAT does. argon2
  costs ~50 ms, so successful verifications are remembered for a few minutes in memory,
  keyed by a digest of user and password and tied to the stored hash (a password change
  invalidates them at once). Failures count towards the login rate limit.
* the ``sessionid`` cookie (sessions.py), with CSRF protection on unsafe methods: the
  ``X-CSRFToken`` header must equal the ``csrftoken`` cookie issued with the session, and an
  ``Origin`` header, when sent, must name this server (or a trusted origin).

Invalid credentials of any kind are a 401 naming the problem; an unknown or expired session
cookie is simply anonymous (browsers keep stale cookies; login and logout must still work).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
import urllib.parse
from collections import OrderedDict
from typing import TYPE_CHECKING

from starlette.requests import Request

from backend.api.errors import ApiError
from backend.iam import sessions, tokens
from backend.iam.keys import digest, same
from backend.iam.passwords import verify_password_async
from backend.iam.principal import User
from backend.iam.ratelimit import LoginLimiter
from backend.iam.users import UserRecord, find_user

if TYPE_CHECKING:
    from backend.bootstrap import Container

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

_BAD_CREDENTIALS = "Invalid username/password."


async def authenticate(request: Request, container: Container) -> User | None:
    header = request.headers.get("authorization", "")
    if header:
        return await _header_user(request, container, header)
    session_key = request.cookies.get("sessionid", "")
    if session_key:
        found = await sessions.session_user(
            container.pool, session_key, container.settings.session_age_s
        )
        if found is None:
            return None
        if request.method not in SAFE_METHODS:
            check_csrf(request, found.csrf_hash, container.settings.csrf_trusted_origins)
        return found.user
    return None


async def _header_user(request: Request, container: Container, header: str) -> User:
    scheme, _, value = header.strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "bearer":
        if not value:
            raise ApiError(401, "Invalid token header. No credentials provided.")
        try:
            user, read_only = await tokens.token_principal(container.pool, value)
        except tokens.TokenProblem as exc:
            raise ApiError(401, str(exc)) from None
        if read_only and request.method not in SAFE_METHODS:
            raise ApiError(403, "This access token is read-only.")
        return user
    if scheme == "token":
        if not value:
            raise ApiError(401, "Invalid token header. No credentials provided.")
        legacy = await sessions.token_user(container.pool, value, container.settings.session_age_s)
        if legacy is None:
            raise ApiError(401, "Invalid token.")
        return legacy
    if scheme == "basic":
        try:
            username, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(
                401, "Invalid basic header. Credentials not correctly base64 encoded."
            ) from None
        if not sep:
            raise ApiError(401, "Invalid basic header. Credentials should be user:password.")
        return await basic_user(request, container, username, password)
    raise ApiError(401, f"Unsupported authorization scheme {scheme!r}: use Bearer, Token or Basic.")


# --- HTTP Basic ------------------------------------------------------------------------

_CACHE_TTL_S = 300.0
_CACHE_SIZE = 4096
# digest(user, password) -> (the password hash it was verified against, monotonic expiry)
_verified: OrderedDict[bytes, tuple[str, float]] = OrderedDict()


def _cache_key(username: str, password: str) -> bytes:
    return hashlib.sha256(f"{username}\0{password}".encode()).digest()


def _remembered(key: bytes, record: UserRecord) -> bool:
    entry = _verified.get(key)
    if entry is None:
        return False
    password_hash, expires = entry
    if expires < time.monotonic() or password_hash != record.password_hash:
        _verified.pop(key, None)
        return False
    return True


def _remember(key: bytes, record: UserRecord) -> None:
    _verified[key] = (record.password_hash, time.monotonic() + _CACHE_TTL_S)
    _verified.move_to_end(key)
    while len(_verified) > _CACHE_SIZE:
        _verified.popitem(last=False)


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def login_limiter(container: Container) -> LoginLimiter:
    s = container.settings
    return LoginLimiter(container.redis, s.login_max_failures, s.login_failure_window_s)


def too_many_attempts(retry_after: int) -> ApiError:
    """The 429 of the login rate limit, with Retry-After (login and Basic alike)."""
    return ApiError(
        429,
        f"Too many failed login attempts. Try again in {retry_after} seconds.",
        headers={"Retry-After": str(retry_after)},
    )


async def basic_user(request: Request, container: Container, username: str, password: str) -> User:
    record = await find_user(container.pool, username=username)
    key = _cache_key(username, password)
    if record is not None and _remembered(key, record):
        if not record.is_active:
            raise ApiError(401, "User inactive or deleted.")
        return User(id=record.id, username=record.username, role=record.role,
                    auth_method="basic")  # fmt: skip
    limiter = login_limiter(container)
    client = client_address(request)
    retry_after = await limiter.retry_after(username, client)
    if retry_after is not None:
        raise too_many_attempts(retry_after)
    ok = await verify_password_async(record.password_hash if record else None, password)
    if not ok or record is None:
        await limiter.failed(username, client)
        raise ApiError(401, _BAD_CREDENTIALS)
    if not record.is_active:
        raise ApiError(401, "User inactive or deleted.")
    _remember(key, record)
    return User(id=record.id, username=record.username, role=record.role, auth_method="basic")


# --- CSRF ------------------------------------------------------------------------------


def check_csrf(request: Request, csrf_hash: bytes, trusted_origins: str = "") -> None:
    """Double submit bound to the session: header == cookie == what the session was issued
    with. Django's messages, so that CVAT users recognise them."""
    header = request.headers.get("x-csrftoken", "")
    cookie = request.cookies.get("csrftoken", "")
    if not cookie:
        raise ApiError(403, "CSRF Failed: CSRF cookie not set.")
    if not header:
        raise ApiError(403, "CSRF Failed: CSRF token missing (send the X-CSRFToken header).")
    if not same(header, cookie) or digest(cookie) != csrf_hash:
        raise ApiError(403, "CSRF Failed: CSRF token incorrect.")
    origin = request.headers.get("origin")
    if origin is not None and not origin_allowed(request, origin, trusted_origins):
        raise ApiError(
            403, f"CSRF Failed: Origin checking failed - {origin} does not match any "
            "trusted origins.",
        )  # fmt: skip


def origin_allowed(request: Request, origin: str, trusted_origins: str = "") -> bool:
    origin = origin.strip().rstrip("/").lower()
    trusted = {o.strip().rstrip("/").lower() for o in trusted_origins.split(",") if o.strip()}
    if origin in trusted:
        return True
    netloc = urllib.parse.urlsplit(origin).netloc
    if not netloc:
        return False  # "null" (sandboxed frames, file://) or garbage
    hosts = {request.headers.get("host", "").lower()}
    forwarded = request.headers.get("x-forwarded-host", "")
    hosts.update(h.strip().lower() for h in forwarded.split(",") if h.strip())
    return netloc in hosts
