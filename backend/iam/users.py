"""Users: the row (personal data) in `users`, the facts (created, role/activity changed,
deleted) in the `user-{id}` stream, never a name or an email inside an event."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import msgspec
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from backend.eventstore.port import ANY, NO_STREAM, EventStore, NewEvent
from backend.iam.passwords import hash_password, hash_password_async
from backend.iam.principal import Role


class UserCreated(msgspec.Struct, frozen=True, kw_only=True):
    """No name or email here: those stay erasable in the users table."""

    user_id: int
    is_superuser: bool
    role: Role = "user"


class UserUpdated(msgspec.Struct, frozen=True, kw_only=True):
    """Which fields changed (names only for personal data), the new role and activity."""

    user_id: int
    changed: list[str]
    role: Role
    is_active: bool
    actor_id: int | None = None


class UserDeleted(msgspec.Struct, frozen=True, kw_only=True):
    user_id: int
    actor_id: int | None = None


class UserPasswordChanged(msgspec.Struct, frozen=True, kw_only=True):
    user_id: int


class UserRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    role: Role
    is_superuser: bool
    is_staff: bool
    is_active: bool
    date_joined: datetime
    last_login: datetime | None
    password_hash: str


USER_COLUMNS = (
    "id, username, email, first_name, last_name, role, is_superuser, is_staff, is_active,"
    " date_joined, last_login, password_hash"
)


def user_from_row(row: Any) -> UserRecord:
    return UserRecord(
        id=row[0], username=row[1], email=row[2], first_name=row[3], last_name=row[4],
        role=row[5], is_superuser=row[6], is_staff=row[7], is_active=row[8],
        date_joined=row[9], last_login=row[10], password_hash=row[11],
    )  # fmt: skip


async def _append(store: EventStore, user_id: int, type_: str, data: msgspec.Struct) -> None:
    await store.append(
        f"user-{user_id}",
        [NewEvent(type=type_, data=msgspec.json.encode(data), metadata={"source": "api"})],
        ANY,
    )


async def create_user(
    pool: AsyncConnectionPool,
    store: EventStore,
    *,
    username: str,
    password: str,
    email: str = "",
    is_superuser: bool = False,
    role: Role | None = None,
    first_name: str = "",
    last_name: str = "",
    password_hash: str | None = None,
) -> int:
    # The row and the event live in different transactions (the store appends through
    # its own connections): write the row first (it enforces unique usernames), then the
    # event, and remove the row again if the append fails.
    role = role or ("admin" if is_superuser else "user")
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO users (id, username, email, password_hash, is_superuser, is_staff,"
            " role, first_name, last_name)"
            " VALUES (nextval('user_ids'), %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            [username, email, password_hash or hash_password(password), is_superuser,
             is_superuser, role, first_name, last_name],
        )  # fmt: skip
        row = await cur.fetchone()
    assert row is not None
    user_id = int(row[0])
    event = UserCreated(user_id=user_id, is_superuser=is_superuser, role=role)
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
        is_superuser=True, role="admin",
    )  # fmt: skip
    return generated


async def get_user(pool: AsyncConnectionPool, user_id: int) -> UserRecord | None:
    async with pool.connection() as conn:
        cur = await conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE id = %s", [user_id])
        row = await cur.fetchone()
    return None if row is None else user_from_row(row)


async def find_user(
    pool: AsyncConnectionPool, *, username: str = "", email: str = ""
) -> UserRecord | None:
    """By exact username, else by e-mail (case-insensitive; only when exactly one matches)."""
    async with pool.connection() as conn:
        if username:
            cur = await conn.execute(
                f"SELECT {USER_COLUMNS} FROM users WHERE username = %s", [username]
            )
            row = await cur.fetchone()
            if row is not None:
                return user_from_row(row)
        if email:
            cur = await conn.execute(
                f"SELECT {USER_COLUMNS} FROM users WHERE email <> '' AND lower(email) = lower(%s)"
                " LIMIT 2",
                [email],
            )
            rows = await cur.fetchall()
            if len(rows) == 1:
                return user_from_row(rows[0])
    return None


async def username_taken(pool: AsyncConnectionPool, username: str, *, but: int = 0) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT 1 FROM users WHERE lower(username) = lower(%s) AND id <> %s",
            [username, but],
        )
        return await cur.fetchone() is not None


async def email_taken(pool: AsyncConnectionPool, email: str, *, but: int = 0) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT 1 FROM users WHERE email <> '' AND lower(email) = lower(%s) AND id <> %s",
            [email, but],
        )
        return await cur.fetchone() is not None


async def active_admins(pool: AsyncConnectionPool) -> list[int]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id FROM users WHERE role = 'admin' AND is_active")
        return [int(r[0]) for r in await cur.fetchall()]


_UPDATABLE = ("username", "email", "first_name", "last_name", "role", "is_superuser",
              "is_staff", "is_active")  # fmt: skip


async def update_user(
    pool: AsyncConnectionPool,
    store: EventStore,
    user: UserRecord,
    changes: dict[str, Any],
    *,
    actor_id: int | None,
) -> UserRecord:
    """Apply `changes` (only fields that differ are written) and record the fact."""
    diff = {k: v for k, v in changes.items() if k in _UPDATABLE and getattr(user, k) != v}
    if not diff:
        return user
    assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in diff)
    async with pool.connection() as conn:
        cur = await conn.execute(
            sql.SQL("UPDATE users SET {} WHERE id = %s RETURNING {}").format(
                assignments, sql.SQL(USER_COLUMNS)
            ),
            [*diff.values(), user.id],
        )
        row = await cur.fetchone()
    assert row is not None
    updated = user_from_row(row)
    await _append(
        store, user.id, "UserUpdated",
        UserUpdated(user_id=user.id, changed=sorted(diff), role=updated.role,
                    is_active=updated.is_active, actor_id=actor_id),
    )  # fmt: skip
    return updated


async def set_password(
    pool: AsyncConnectionPool, store: EventStore, user_id: int, password: str
) -> None:
    password_hash = await hash_password_async(password)
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE users SET password_hash = %s WHERE id = %s", [password_hash, user_id]
        )
    await _append(store, user_id, "UserPasswordChanged", UserPasswordChanged(user_id=user_id))


async def delete_user(
    pool: AsyncConnectionPool, store: EventStore, user_id: int, *, actor_id: int | None
) -> None:
    """Erase the row (personal data; sessions and tokens go with it); the stream keeps the
    fact that the user existed and was deleted."""
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM users WHERE id = %s", [user_id])
    await _append(store, user_id, "UserDeleted", UserDeleted(user_id=user_id, actor_id=actor_id))
