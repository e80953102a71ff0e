"""Projector catch-up over 200,000 events (both read models, from position 0), against a raw
scan of the same events by position in pages of 1,000 (the least any projector must do)."""

from __future__ import annotations

import asyncio
import os
import random
import time

import psycopg
from _common import database, log, report

from backend.db import open_pool
from backend.domain.events import (
    JobCreated,
    ObjectsCreated,
    ObjectsDeleted,
    ObjectsUpdated,
    encode_event,
)
from backend.domain.objects import AttributeVal, LabeledShape, ShapePatch
from backend.eventstore.port import ANY, NewEvent
from backend.eventstore.postgres import PostgresEventStore
from backend.projections.registry import all_projections
from backend.projections.runner import Projector

EVENTS = int(os.environ.get("BENCH_PROJECTOR_EVENTS", "200000"))
JOBS = 200
PAGE = 1000


def _new(event: object) -> NewEvent:
    type_, version, data = encode_event(event)  # type: ignore[arg-type]
    return NewEvent(type=type_, version=version, data=data, metadata={"actor": 1, "source": "api"})


def history(total: int) -> dict[int, list[NewEvent]]:
    """Per job: JobCreated, then single-shape creates (60%), edits (30%), deletes (10%)."""
    rng = random.Random(1)
    streams: dict[int, list[NewEvent]] = {}
    live: dict[int, list[int]] = {}
    next_id = 1
    for job in range(1, JOBS + 1):
        streams[job] = [_new(JobCreated(job_id=job, task_id=1, start_frame=0, stop_frame=999))]
        live[job] = []
    for _ in range(total - JOBS):
        job = rng.randint(1, JOBS)
        roll, ids = rng.random(), live[job]
        if roll < 0.6 or not ids:
            shape = LabeledShape(
                id=next_id, type="rectangle", frame=rng.randrange(1000), label_id=1,
                points=[rng.random() * 500, rng.random() * 500, 600.0, 700.0],
                attributes=[AttributeVal(1, "red")],
            )  # fmt: skip
            ids.append(next_id)
            next_id += 1
            streams[job].append(_new(ObjectsCreated(shapes=[shape])))
        elif roll < 0.9:
            patch = ShapePatch(id=rng.choice(ids), points=[1.0, 2.0, rng.random() * 900, 950.0])
            streams[job].append(_new(ObjectsUpdated(shapes=[patch])))
        else:
            streams[job].append(_new(ObjectsDeleted(shapes=[ids.pop(rng.randrange(len(ids)))])))
    return streams


async def main_async(url: str) -> None:
    pool = await open_pool(url, min_size=2, max_size=6)
    store = PostgresEventStore(pool)
    started = time.perf_counter()
    streams = history(EVENTS)
    for job, events in streams.items():
        for i in range(0, len(events), 500):
            await store.append(f"job-{job}", events[i : i + 500], ANY)
    head = await store.head_position()
    log(f"wrote {head} events in {time.perf_counter() - started:.1f}s")

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("VACUUM ANALYZE events")
        t = time.perf_counter()
        position, rows = 0, 0
        while True:
            cur = await conn.execute(
                "SELECT position, stream_id, revision, event_id, type, version, data,"
                " metadata::text, recorded_at FROM events WHERE position > %s"
                " ORDER BY position LIMIT %s",
                [position, PAGE],
                binary=True,
            )
            page = await cur.fetchall()
            if not page:
                break
            rows += len(page)
            position = page[-1][0]
        scan_rate = rows / (time.perf_counter() - t)

    projector = Projector(pool, store, all_projections(), batch=PAGE)
    t = time.perf_counter()
    await projector.catch_up(head)
    rate = head / (time.perf_counter() - t)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM job_objects")
        objects = (await cur.fetchone())[0]  # type: ignore[index]
    log(f"projected {head} events into {objects} objects")
    report(
        "projector.catchup", rate, "events/s", scan_rate, "value >= 20000 events/s",
        rate >= 20_000, events=head, read_models=len(all_projections()),
    )  # fmt: skip
    await store.close()
    await pool.close()


def main() -> None:
    with database() as url:
        asyncio.run(main_async(url))


if __name__ == "__main__":
    main()
