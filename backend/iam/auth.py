"""Authentication of a request. First version: HTTP Basic only (the IAM work extends this
with sessions + CSRF, personal access tokens and legacy tokens)."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request

from backend.api.errors import ApiError
from backend.iam.principal import User

if TYPE_CHECKING:
    from backend.bootstrap import Container

_hasher = PasswordHasher()
_BAD_CREDENTIALS = ApiError(401, "Invalid username/password.")


async def authenticate(request: Request, container: Container) -> User | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            username, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise _BAD_CREDENTIALS from None
        return await _password_user(container, username, password)
    return None


async def _password_user(container: Container, username: str, password: str) -> User:
    async with container.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, username, password_hash, is_superuser, is_active FROM users"
            " WHERE username = %s",
            [username],
        )
        row = await cur.fetchone()
    if row is None or not row[4]:
        raise _BAD_CREDENTIALS
    try:
        _hasher.verify(row[2], password)
    except (VerificationError, InvalidHashError):
        raise _BAD_CREDENTIALS from None
    return User(id=row[0], username=row[1], role="admin" if row[3] else "user")
