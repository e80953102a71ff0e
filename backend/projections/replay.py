"""`vellum replay`: rebuild every read model from position 0 into fresh tables (a schema of
their own) and report how they differ from the live ones.

The rebuild runs the same projection code with `search_path` pointing at the fresh schema
first, so unqualified table names resolve to the fresh tables while `events` still resolves
to the one log. Each projection is compared at the live model's own checkpoint, inside a
REPEATABLE READ transaction so a live projector moving on cannot skew the comparison.
"""

from __future__ import annotations

import time
import uuid

import msgspec
import psycopg
from psycopg_pool import AsyncConnectionPool

from backend.db import migrate, open_pool
from backend.eventstore.postgres import PostgresEventStore
from backend.projections.registry import all_projections
from backend.projections.runner import Projection, Projector


class TableDiff(msgspec.Struct, frozen=True):
    table: str
    live_rows: int
    replayed_rows: int
    only_live: int  # rows (with multiplicity) in the live table and not in the rebuilt one
    only_replayed: int


class ProjectionReport(msgspec.Struct, frozen=True):
    name: str
    position: int
    tables: list[TableDiff]

    @property
    def identical(self) -> bool:
        return all(t.only_live == 0 and t.only_replayed == 0 for t in self.tables)


class ReplayReport(msgspec.Struct, frozen=True):
    schema: str
    projections: list[ProjectionReport]
    seconds: float

    @property
    def identical(self) -> bool:
        return all(p.identical for p in self.projections)

    def lines(self) -> list[str]:
        out = []
        for p in self.projections:
            for t in p.tables:
                state = "identical" if t.only_live == t.only_replayed == 0 else "DIFFERENT"
                out.append(
                    f"{p.name}.{t.table} @ position {p.position}: {state} "
                    f"(live {t.live_rows} rows, replayed {t.replayed_rows}, "
                    f"only live {t.only_live}, only replayed {t.only_replayed})"
                )
        verdict = "identical" if self.identical else "DIFFERENCES FOUND"
        out.append(f"replay: {verdict} in {self.seconds:.1f}s")
        return out


async def replay_and_compare(
    database_url: str, projections: list[Projection] | None = None, *, keep: bool = False
) -> ReplayReport:
    started = time.monotonic()
    projections = projections or all_projections()
    await migrate(database_url)
    schema = f"replay_{uuid.uuid4().hex[:10]}"
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(f"CREATE SCHEMA {schema}")
        # Scratch tables (working state that is not a pure function of the log) are
        # rebuilt aside too, so a replay never writes to the live ones, but not compared.
        scratch = [t for p in projections for t in getattr(p, "scratch_tables", ())]
        for table in ["projector_checkpoints", *(t for p in projections for t in p.tables),
                      *scratch]:  # fmt: skip
            await conn.execute(f"CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)")
    fresh = psycopg.conninfo.make_conninfo(database_url, options=f"-c search_path={schema},public")
    pool = await open_pool(fresh, min_size=1, max_size=4)
    store = PostgresEventStore(pool)
    try:
        reports = [await _replay_one(pool, store, p, schema) for p in projections]
    finally:
        await store.close()
        await pool.close()
        if not keep:
            async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as c:
                await c.execute(f"DROP SCHEMA {schema} CASCADE")
    return ReplayReport(schema=schema, projections=reports, seconds=time.monotonic() - started)


async def _replay_one(
    pool: AsyncConnectionPool, store: PostgresEventStore, projection: Projection, schema: str
) -> ProjectionReport:
    projector = Projector(pool, store, [projection])
    for _ in range(20):
        live = await _live_checkpoint(pool, projection.name)
        await projector.catch_up(live)
        async with pool.connection() as conn:
            await conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            try:
                if await _live_checkpoint_in(conn, projection.name) != live:
                    continue  # the live projector moved on: catch up again
                tables = [await _diff(conn, table, schema) for table in projection.tables]
                return ProjectionReport(name=projection.name, position=live, tables=tables)
            finally:
                await conn.execute("ROLLBACK")
    raise RuntimeError(f"the live {projection.name!r} read model kept moving; try again")


async def _live_checkpoint(pool: AsyncConnectionPool, name: str) -> int:
    async with pool.connection() as conn:
        return await _live_checkpoint_in(conn, name)


async def _live_checkpoint_in(conn: psycopg.AsyncConnection[tuple[object, ...]], name: str) -> int:
    cur = await conn.execute(
        "SELECT position FROM public.projector_checkpoints WHERE name = %s", [name]
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0  # type: ignore[call-overload]


async def _diff(
    conn: psycopg.AsyncConnection[tuple[object, ...]], table: str, schema: str
) -> TableDiff:
    live, fresh = f"public.{table}", f"{schema}.{table}"
    cur = await conn.execute(
        f"SELECT (SELECT count(*) FROM {live}), (SELECT count(*) FROM {fresh}),"
        f" (SELECT count(*) FROM (SELECT * FROM {live} EXCEPT ALL SELECT * FROM {fresh}) a),"
        f" (SELECT count(*) FROM (SELECT * FROM {fresh} EXCEPT ALL SELECT * FROM {live}) b)"
    )
    row = await cur.fetchone()
    assert row is not None
    return TableDiff(table, *(int(v) for v in row))  # type: ignore[call-overload]
