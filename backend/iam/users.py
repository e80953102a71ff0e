"""Users: the row (personal data) in `users`, the fact of creation in the `user-{id}` stream."""

from __future__ import annotations

import secrets

import msgspec
from argon2 import PasswordHasher
from psycopg_pool import AsyncConnectionPool

from backend.eventstore.port import NO_STREAM, EventStore, NewEvent

_hasher = PasswordHasher()


class UserCreated(msgspec.Struct, frozen=True, kw_only=True):
    """No name or email here: those stay erasable in the users table."""

    user_id: int
    is_superuser: bool


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def create_user(
    pool: AsyncConnectionPool,
    store: EventStore,
    *,
    username: str,
    password: str,
    email: str = "",
    is_superuser: bool = False,
) -> int:
    # The row and the event live in different transactions (the store appends through
    # its own connections): write the row first (it enforces unique usernames), then the
    # event, and remove the row again if the append fails.
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO users (id, username, email, password_hash, is_superuser, is_staff)"
            " VALUES (nextval('user_ids'), %s, %s, %s, %s, %s) RETURNING id",
            [username, email, hash_password(password), is_superuser, is_superuser],
        )
        row = await cur.fetchone()
    assert row is not None
    user_id = int(row[0])
    event = UserCreated(user_id=user_id, is_superuser=is_superuser)
    try:
        await store.append(
            f"user-{user_id}",
            [NewEvent(type="UserCreated", data=msgspec.json.encode(event),
                      metadata={"source": "system"})],
            NO_STREAM,
        )  # fmt: skip
    except BaseException:
        async with pool.connection() as conn:
            await conn.execute("DELETE FROM users WHERE id = %s", [user_id])
        raise
    return user_id


async def ensure_admin(
    pool: AsyncConnectionPool, store: EventStore, username: str, password: str, email: str
) -> str | None:
    """Create the first admin when there is no superuser yet. Returns the password when it
    was generated (the caller prints it once), else None."""
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT 1 FROM users WHERE is_superuser LIMIT 1")
        if await cur.fetchone() is not None:
            return None
    generated = None if password else secrets.token_urlsafe(12)
    await create_user(
        pool, store, username=username, password=password or generated or "", email=email,
        is_superuser=True,
    )  # fmt: skip
    return generated
