"""Browser sessions: `sessionid` cookie + `csrftoken` cookie, and the legacy `Token` key that
POST /api/auth/login returns (it lives and dies with its session). Only digests are stored.
Expiry slides: every request more than a minute after the last one pushes it forward."""

from __future__ import annotations

from typing import NamedTuple

from psycopg_pool import AsyncConnectionPool

from backend.iam.keys import digest, new_key
from backend.iam.principal import AuthMethod, User

# Refresh last_seen/expires_at at most this often per session (one UPDATE, not one per request).
_TOUCH_AFTER_S = 60


class NewSession(NamedTuple):
    session_key: str  # the `sessionid` cookie
    csrf_token: str  # the `csrftoken` cookie (and X-CSRFToken header)
    token_key: str  # the `key` of the login response: `Authorization: Token <key>`


class SessionUser(NamedTuple):
    user: User
    csrf_hash: bytes
    key_hash: bytes


async def create_session(pool: AsyncConnectionPool, user_id: int, age_s: int) -> NewSession:
    new = NewSession(new_key(40), new_key(32), new_key(40))
    async with pool.connection() as conn:
        # Expired sessions of this user go when they log in again (no sweeper needed).
        await conn.execute(
            "DELETE FROM sessions WHERE user_id = %s AND expires_at < now()", [user_id]
        )
        await conn.execute(
            "INSERT INTO sessions (key_hash, csrf_hash, token_hash, user_id, expires_at)"
            " VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s))",
            [digest(new.session_key), digest(new.csrf_token), digest(new.token_key),
             user_id, age_s],
        )  # fmt: skip
        await conn.execute("UPDATE users SET last_login = now() WHERE id = %s", [user_id])
    return new


_LOOKUP = (
    "SELECT u.id, u.username, u.role, s.csrf_hash, s.key_hash,"
    " s.last_seen < now() - make_interval(secs => %s)"
    " FROM sessions s JOIN users u ON u.id = s.user_id"
    " WHERE s.{column} = %s AND s.expires_at > now() AND u.is_active"
)


async def _lookup(
    pool: AsyncConnectionPool, column: str, key: str, age_s: int, method: AuthMethod
) -> SessionUser | None:
    async with pool.connection() as conn:
        cur = await conn.execute(_LOOKUP.format(column=column), [_TOUCH_AFTER_S, digest(key)])
        row = await cur.fetchone()
        if row is None:
            return None
        if row[5]:
            await conn.execute(
                "UPDATE sessions SET last_seen = now(),"
                " expires_at = now() + make_interval(secs => %s) WHERE key_hash = %s",
                [age_s, row[4]],
            )
    user = User(id=row[0], username=row[1], role=row[2], auth_method=method)
    return SessionUser(user, bytes(row[3]), bytes(row[4]))


async def session_user(
    pool: AsyncConnectionPool, session_key: str, age_s: int
) -> SessionUser | None:
    """The live session of a `sessionid` cookie (None: unknown, expired or user inactive)."""
    return await _lookup(pool, "key_hash", session_key, age_s, "session")


async def token_user(pool: AsyncConnectionPool, token_key: str, age_s: int) -> User | None:
    """The user of a legacy `Authorization: Token <key>` (None when not valid)."""
    found = await _lookup(pool, "token_hash", token_key, age_s, "token")
    return None if found is None else found.user


async def end_session(
    pool: AsyncConnectionPool, *, session_key: str = "", token_key: str = ""
) -> None:
    async with pool.connection() as conn:
        if session_key:
            await conn.execute("DELETE FROM sessions WHERE key_hash = %s", [digest(session_key)])
        if token_key:
            await conn.execute("DELETE FROM sessions WHERE token_hash = %s", [digest(token_key)])


async def end_user_sessions(
    pool: AsyncConnectionPool, user_id: int, *, keep_session_key: str = ""
) -> None:
    """Log a user out everywhere (password change, deactivation), except `keep_session_key`."""
    async with pool.connection() as conn:
        await conn.execute(
            "DELETE FROM sessions WHERE user_id = %s AND key_hash <> %s",
            [user_id, digest(keep_session_key) if keep_session_key else b""],
        )
