"""Postgres connection pool and versioned SQL migrations (backend/migrations/NNN_name.sql)."""

from __future__ import annotations

import re
from importlib import resources

import psycopg
from psycopg_pool import AsyncConnectionPool

_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
# Any constant works; it only has to be the same in every process that migrates.
_MIGRATION_LOCK = 0x76656C6C  # "vell"


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) for every migration, in order."""
    found = []
    for entry in resources.files("backend.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text()))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version number: {versions}")
    return found


async def migrate(conninfo: str) -> list[str]:
    """Apply pending migrations, each in its own transaction; returns the names applied.
    Idempotent and safe to run from several processes at once (advisory lock)."""
    applied: list[str] = []
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", [_MIGRATION_LOCK])
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur = await conn.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in await cur.fetchall()}
            for version, name, sql in migrations():
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql.encode())
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        [version, name],
                    )
                applied.append(name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", [_MIGRATION_LOCK])
    return applied


def conninfo_of(pool: AsyncConnectionPool) -> str:
    """The pool's connection string (we always build pools from a string), for the few
    connections that must live outside the pool (LISTEN, the committer)."""
    value = pool.conninfo
    if not isinstance(value, str):
        raise TypeError("pools must be created from a connection string")
    return value


async def open_pool(conninfo: str, min_size: int = 2, max_size: int = 10) -> AsyncConnectionPool:
    pool = AsyncConnectionPool(
        conninfo, min_size=min_size, max_size=max_size, open=False, kwargs={"autocommit": True}
    )
    await pool.open(wait=True, timeout=30)
    return pool
