"""Personal access tokens (`Authorization: Bearer <value>`), as CVAT 2.x has them: named,
owned, optionally read-only and expiring, revocable; the value is shown once at creation and
only its SHA-256 is stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from backend.iam.keys import digest, new_key
from backend.iam.principal import User

# last_used_date is a coarse "still in use?" signal (CVAT: about a day); don't write per request.
_LAST_USED_RESOLUTION_S = 3600


class AccessToken(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    read_only: bool
    created_date: datetime
    updated_date: datetime
    expiry_date: datetime | None
    last_used_date: datetime | None
    owner_id: int
    owner_username: str
    owner_first_name: str
    owner_last_name: str


class TokenProblem(Exception):
    """The presented token cannot be used; the message says why (401 detail)."""


_COLUMNS = (
    "t.id, t.name, t.read_only, t.created_date, t.updated_date, t.expiry_date,"
    " t.last_used_date, t.owner_id, u.username, u.first_name, u.last_name"
)
# A token that still authenticates (SQL over `access_tokens t`).
USABLE = "NOT t.revoked AND (t.expiry_date IS NULL OR t.expiry_date > now())"


def _token(row: Any) -> AccessToken:
    return AccessToken(
        id=row[0], name=row[1], read_only=row[2], created_date=row[3], updated_date=row[4],
        expiry_date=row[5], last_used_date=row[6], owner_id=row[7], owner_username=row[8],
        owner_first_name=row[9], owner_last_name=row[10],
    )  # fmt: skip


async def count_usable(pool: AsyncConnectionPool, owner_id: int) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT count(*) FROM access_tokens t WHERE t.owner_id = %s AND {USABLE}",
            [owner_id],
        )
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def create_token(
    pool: AsyncConnectionPool,
    owner_id: int,
    *,
    name: str,
    read_only: bool = False,
    expiry_date: datetime | None = None,
) -> tuple[AccessToken, str]:
    """The new token and its value (the only time the value exists outside the client)."""
    value = new_key(48)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO access_tokens (key_hash, owner_id, name, read_only, expiry_date)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id",
            [digest(value), owner_id, name, read_only, expiry_date],
        )
        row = await cur.fetchone()
    assert row is not None
    token = await get_token(pool, int(row[0]))
    assert token is not None
    return token, value


async def get_token(pool: AsyncConnectionPool, token_id: int) -> AccessToken | None:
    """A usable (not revoked, not expired) token by id."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_COLUMNS} FROM access_tokens t JOIN users u ON u.id = t.owner_id"
            f" WHERE t.id = %s AND {USABLE}",
            [token_id],
        )
        row = await cur.fetchone()
    return None if row is None else _token(row)


async def update_token(pool: AsyncConnectionPool, token_id: int, changes: dict[str, Any]) -> None:
    allowed = {k: v for k, v in changes.items() if k in ("name", "read_only", "expiry_date")}
    if not allowed:
        return
    assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in allowed)
    async with pool.connection() as conn:
        await conn.execute(
            sql.SQL("UPDATE access_tokens SET {}, updated_date = now() WHERE id = %s").format(
                assignments
            ),
            [*allowed.values(), token_id],
        )


async def revoke_token(pool: AsyncConnectionPool, token_id: int) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE access_tokens SET revoked = true, updated_date = now() WHERE id = %s",
            [token_id],
        )


async def token_principal(pool: AsyncConnectionPool, value: str) -> tuple[User, bool]:
    """The user of a bearer token and whether the token is read-only; TokenProblem if the
    token is unknown, revoked, expired or its owner inactive."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT t.id, t.read_only, t.revoked, t.expiry_date IS NOT NULL"
            " AND t.expiry_date <= now(), u.id, u.username, u.role, u.is_active,"
            " t.last_used_date IS NULL"
            " OR t.last_used_date < now() - make_interval(secs => %s)"
            " FROM access_tokens t JOIN users u ON u.id = t.owner_id WHERE t.key_hash = %s",
            [_LAST_USED_RESOLUTION_S, digest(value)],
        )
        row = await cur.fetchone()
        if row is None or row[2]:
            raise TokenProblem("Invalid access token.")
        if row[3]:
            raise TokenProblem("The access token has expired.")
        if not row[7]:
            raise TokenProblem("User inactive or deleted.")
        if row[8]:
            await conn.execute(
                "UPDATE access_tokens SET last_used_date = now() WHERE id = %s", [row[0]]
            )
    user = User(
        id=row[4], username=row[5], role=row[6], auth_method="access_token",
        access_token_id=row[0],
    )  # fmt: skip
    return user, bool(row[1])
