"""Event store benchmarks: durable append throughput (1 and 16 writers) against plain
single-row INSERT transactions; one 50,000-rectangle append and its cold load."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import msgspec
import psycopg
from _common import database, log, median, report, timed

from backend.db import open_pool
from backend.domain.commands import CreateJob, CreateObjects
from backend.domain.labels import LabelSet, LabelSpec
from backend.domain.objects import LabeledShape
from backend.eventstore.port import NO_STREAM, NewEvent
from backend.eventstore.postgres import PostgresEventStore
from backend.services.job_annotations import JobAnnotationsService

SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
# ~300 bytes: a typical single-shape edit.
PAYLOAD = msgspec.json.encode(
    {"shapes": [{"id": 123456, "type": "rectangle", "frame": 42, "label_id": 7, "group": 0,
                 "source": "manual", "occluded": False, "outside": False, "z_order": 0,
                 "rotation": 0.0, "points": [101.5, 202.25, 303.75, 404.5],
                 "attributes": [{"spec_id": 3, "value": "red"}], "elements": []}]}
)  # fmt: skip
METADATA = {"actor": 1, "source": "api", "request_id": "0123456789abcdef"}

BASELINE_TABLE = """
CREATE TABLE baseline_events (
    position bigserial PRIMARY KEY, stream_id text NOT NULL, revision bigint NOT NULL,
    event_id uuid NOT NULL UNIQUE, type text NOT NULL, version integer NOT NULL,
    data bytea NOT NULL, metadata jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(), UNIQUE (stream_id, revision))
"""


async def run_for(seconds: float, writers: int, one_write) -> float:
    """Each writer loops `one_write(writer, i)` until time is up; returns writes/s."""
    deadline = time.perf_counter() + seconds
    counts = [0] * writers

    async def loop(w: int) -> None:
        while time.perf_counter() < deadline:
            await one_write(w, counts[w])
            counts[w] += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop(w) for w in range(writers)))
    return sum(counts) / (time.perf_counter() - started)


async def baseline_inserts(url: str, writers: int) -> float:
    conns = [await psycopg.AsyncConnection.connect(url, autocommit=True) for _ in range(writers)]
    tag = uuid.uuid4().hex[:6]
    meta = msgspec.json.encode(METADATA).decode()

    async def write(w: int, i: int) -> None:
        await conns[w].execute(
            "INSERT INTO baseline_events (stream_id, revision, event_id, type, version, data,"
            " metadata) VALUES (%s, %s, %s, 'ObjectsUpdated', 1, %s, %s::jsonb)",
            [f"b{tag}-{w}", i, uuid.uuid4(), PAYLOAD, meta],
        )

    try:
        return await run_for(SECONDS, writers, write)
    finally:
        for c in conns:
            await c.close()


async def store_appends(store: PostgresEventStore, writers: int) -> float:
    tag = uuid.uuid4().hex[:6]

    async def write(w: int, i: int) -> None:
        event = NewEvent(type="ObjectsUpdated", data=PAYLOAD, metadata=METADATA)
        await store.append(f"s{tag}-{w}", [event], NO_STREAM if i == 0 else i - 1)

    return await run_for(SECONDS, writers, write)


async def appends(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(BASELINE_TABLE)
        await conn.execute("SHOW synchronous_commit")
        fsync = await (await conn.execute("SHOW fsync")).fetchone()
        sync = await (await conn.execute("SHOW synchronous_commit")).fetchone()
    log(f"fsync={fsync[0]} synchronous_commit={sync[0]}")
    pool = await open_pool(url, min_size=2, max_size=4)
    store = PostgresEventStore(pool)
    try:
        for writers, target in ((1, 0.8), (16, 3.0)):
            base, ours = [], []
            for _ in range(ROUNDS):  # interleaved, so drift hits both alike
                base.append(await baseline_inserts(url, writers))
                ours.append(await store_appends(store, writers))
            b, v = median(base), median(ours)
            log(f"{writers} writers: baseline {base} ours {ours}")
            report(
                f"eventstore.append_{writers}w", v, "events/s", b, f"ratio >= {target}",
                v / b >= target, writers=writers, rounds=ROUNDS, seconds_per_round=SECONDS,
            )  # fmt: skip
    finally:
        await store.close()
        await pool.close()


async def big_aggregate(url: str) -> None:
    pool = await open_pool(url, min_size=1, max_size=4)
    store = PostgresEventStore(pool)
    labels = LabelSet([LabelSpec(id=1, name="car", type="rectangle")])
    service = JobAnnotationsService(store, pool)
    await service.create_job(CreateJob(job_id=1, task_id=1, start_frame=0, stop_frame=9999))
    shapes = [
        LabeledShape(type="rectangle", frame=i % 10_000, label_id=1,
                     points=[i % 1000, i % 700, i % 1000 + 50.5, i % 700 + 80.25])
        for i in range(50_000)
    ]  # fmt: skip
    command = CreateObjects(shapes=shapes)
    try:
        append_s = await timed(lambda: service.execute(1, [command], labels))
        # Baseline: the same number of bytes as one raw INSERT of the encoded event.
        payload = msgspec.json.encode(command)
        async with pool.connection() as conn:
            await conn.execute("CREATE TABLE raw_blob (id int, data bytea)")

            async def raw_insert() -> None:
                await conn.execute("INSERT INTO raw_blob VALUES (1, %s)", [payload])

            raw_s = await timed(raw_insert)
        report(
            "eventstore.big_event_append_s", append_s, "s", raw_s, "value < 1 s", append_s < 1.0,
            shapes=len(shapes), event_bytes=len(payload),
        )  # fmt: skip

        cold = JobAnnotationsService(store, pool)  # nothing cached: snapshot + tail
        holder: dict[str, object] = {}

        async def load() -> None:
            holder["state"] = await cold.load(1)

        load_s = await timed(load)
        assert len(holder["state"]) == 50_000  # type: ignore[arg-type]

        async def raw_load() -> None:
            async with pool.connection() as conn:
                cur = await conn.execute("SELECT data FROM snapshots WHERE stream_id = 'job-1'")
                row = await cur.fetchone()
                msgspec.json.decode(row[0])

        raw_load_s = await timed(raw_load)
        report(
            "eventstore.big_aggregate_load_s", load_s, "s", raw_load_s, "value < 1 s",
            load_s < 1.0, shapes=50_000,
        )  # fmt: skip
    finally:
        await store.close()
        await pool.close()


def main() -> None:
    with database() as url:
        asyncio.run(appends(url))
        asyncio.run(big_aggregate(url))


if __name__ == "__main__":
    main()
