"""A reader of the global log must never skip an event that commits late with a smaller
position. Writers here pause inside their transactions (a trigger sleeps after the INSERT)
while a subscriber races them; at the end its view must equal a full read of the log."""

from __future__ import annotations

import asyncio
import random
import uuid

import psycopg

from backend.eventstore.port import ANY, NewEvent
from backend.eventstore.postgres import PostgresEventStore

SLOW_COMMIT_TRIGGER = """
CREATE FUNCTION pause_inside_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(random() * 0.03); RETURN NULL; END $$;
CREATE TRIGGER pause_after_insert AFTER INSERT ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION pause_inside_transaction();
"""


async def _race(read_after, write_all) -> tuple[list[int], list[int]]:
    """Run the writers while a reader polls `read_after(position)` as fast as it can.
    Returns (positions the reader saw, in order; positions in the log at the end)."""
    seen: list[int] = []
    done = asyncio.Event()

    async def reader() -> None:
        position = 0
        while True:
            finished = done.is_set()  # read once more after the writers finished
            for p in await read_after(position):
                seen.append(p)
                position = p
            if finished:
                return
            await asyncio.sleep(0)

    task = asyncio.create_task(reader())
    await write_all()
    done.set()
    await task
    return seen, await read_after(0)


async def test_subscriber_never_skips_events_that_commit_late(pool) -> None:
    async with pool.connection() as conn:
        await conn.execute(SLOW_COMMIT_TRIGGER.format(table="events"))
    # Four stores = four independent committers, as four app processes would have.
    stores = [PostgresEventStore(pool) for _ in range(4)]
    rng = random.Random(7)

    async def write_all() -> None:
        async def writer(store: PostgresEventStore, n: int) -> None:
            for i in range(n):
                stream = f"job-{rng.randrange(6)}"
                events = [NewEvent(type="T", data=b"%d" % i) for _ in range(rng.randint(1, 3))]
                await store.append(stream, events, ANY)

        await asyncio.gather(*(writer(stores[i % 4], 15) for i in range(12)))

    async def read_after(position: int) -> list[int]:
        return [e.position for e in await stores[0].read_all(position, 10_000)]

    seen, full = await _race(read_after, write_all)
    for store in stores:
        await store.close()
    assert len(full) >= 180
    assert seen == full


async def test_subscription_sees_every_event_while_writers_race(pool) -> None:
    async with pool.connection() as conn:
        await conn.execute(SLOW_COMMIT_TRIGGER.format(table="events"))
    writers = [PostgresEventStore(pool) for _ in range(3)]
    reader = PostgresEventStore(pool)
    total = 90
    received: list[int] = []

    async def subscribe() -> None:
        async for event in reader.subscribe(0, batch=7):
            received.append(event.position)
            if len(received) == total:
                return

    task = asyncio.create_task(subscribe())
    await asyncio.gather(
        *(
            writers[i % 3].append(f"s-{i % 5}", [NewEvent(type="T", data=b"x")], ANY)
            for i in range(total)
        )
    )
    await asyncio.wait_for(task, 30)
    full = [e.position for e in await reader.read_all(0, 10_000)]
    assert received == full
    for store in [*writers, reader]:
        await store.close()


async def test_race_harness_detects_a_writer_that_allocates_positions_before_commit(
    fresh_db_url: str,
) -> None:
    """The harness itself can fail: a naive log (sequence positions, no commit ordering)
    raced the same way loses events for the reader."""
    async with await psycopg.AsyncConnection.connect(fresh_db_url, autocommit=True) as conn:
        await conn.execute("CREATE TABLE naive (position bigint PRIMARY KEY, x text)")
        await conn.execute("CREATE SEQUENCE naive_positions")
        await conn.execute(SLOW_COMMIT_TRIGGER.format(table="naive"))
    conns = [await psycopg.AsyncConnection.connect(fresh_db_url) for _ in range(8)]
    reader_conn = await psycopg.AsyncConnection.connect(fresh_db_url, autocommit=True)

    async def write_all() -> None:
        async def writer(conn: psycopg.AsyncConnection) -> None:
            for _ in range(15):
                await conn.execute(
                    "INSERT INTO naive VALUES (nextval('naive_positions'), %s)", [uuid.uuid4().hex]
                )
                await conn.commit()

        await asyncio.gather(*(writer(c) for c in conns))

    async def read_after(position: int) -> list[int]:
        cur = await reader_conn.execute(
            "SELECT position FROM naive WHERE position > %s ORDER BY position", [position]
        )
        return [r[0] for r in await cur.fetchall()]

    seen, full = await _race(read_after, write_all)
    for c in [*conns, reader_conn]:
        await c.close()
    assert len(full) == 120
    assert set(seen) < set(full), "the naive log was expected to lose events for the reader"
