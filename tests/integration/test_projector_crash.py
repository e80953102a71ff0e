"""kill -9 the projector process in the middle of its batches: after every kill the read
models must equal a replay up to their own checkpoint, and a restart must finish the job."""

from __future__ import annotations

import asyncio
import random
import signal
import time

import psycopg

from backend.domain.events import (
    JobCreated,
    ObjectsCreated,
    ObjectsDeleted,
    ObjectsUpdated,
    encode_event,
)
from backend.domain.objects import LabeledShape, ShapePatch
from backend.eventstore.port import ANY, NewEvent
from backend.eventstore.postgres import PostgresEventStore
from backend.projections.replay import replay_and_compare

from .helpers import start, vellum_env

# Widens the window in which the projector is inside a transaction, so kills land mid-batch.
SLOW_PROJECTION = """
CREATE FUNCTION slow_down() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(0.01); RETURN NULL; END $$;
CREATE TRIGGER slow_job_objects AFTER INSERT OR UPDATE OR DELETE ON job_objects
    FOR EACH STATEMENT EXECUTE FUNCTION slow_down();
"""


def _new(event) -> NewEvent:
    type_, version, data = encode_event(event)
    return NewEvent(type=type_, version=version, data=data, metadata={"source": "system"})


async def _write_history(pool, jobs: int, per_job: int) -> int:
    store = PostgresEventStore(pool)
    rng = random.Random(3)
    next_id = 1
    for job_id in range(1, jobs + 1):
        batch = [_new(JobCreated(job_id=job_id, task_id=1, start_frame=0, stop_frame=99))]
        ids: list[int] = []
        for _ in range(per_job):
            roll = rng.random()
            if roll < 0.6 or not ids:
                shape = LabeledShape(
                    id=next_id, type="rectangle", frame=rng.randrange(100), label_id=1,
                    points=[1.0, 2.0, 30.0, 40.0],
                )  # fmt: skip
                ids.append(next_id)
                next_id += 1
                batch.append(_new(ObjectsCreated(shapes=[shape])))
            elif roll < 0.9:
                patch = ShapePatch(id=rng.choice(ids), points=[rng.random() * 50, 1.0, 60.0, 70.0])
                batch.append(_new(ObjectsUpdated(shapes=[patch])))
            else:
                batch.append(_new(ObjectsDeleted(shapes=[ids.pop(rng.randrange(len(ids)))])))
        for i in range(0, len(batch), 100):
            await store.append(f"job-{job_id}", batch[i : i + 100], ANY)
    head = await store.head_position()
    await store.close()
    return head


def _checkpoint(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT coalesce(min(position), 0) FROM projector_checkpoints"
        ).fetchone()
        return int(row[0]) if row else 0


async def test_projector_survives_kill_9_at_any_point(pool, fresh_db_url, services, tmp_path):
    head = await _write_history(pool, jobs=12, per_job=500)
    async with pool.connection() as conn:
        await conn.execute(SLOW_PROJECTION)
    env = vellum_env(database_url=fresh_db_url, redis_url=services.redis_url, projector_batch="150")
    log = tmp_path / "projector.log"
    kills = 0
    for fraction in (0.15, 0.4, 0.7):
        proc = start(["projector"], env, log)
        deadline = time.monotonic() + 120
        while _checkpoint(fresh_db_url) < head * fraction:
            assert proc.poll() is None, "projector exited; see its log"
            assert time.monotonic() < deadline, "projector made no progress"
            await asyncio.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        # Whatever the kill interrupted, each read model equals a replay to its checkpoint.
        report = await replay_and_compare(fresh_db_url)
        assert report.identical, report.lines()
        assert 0 < report.projections[0].position < head
    proc = start(["projector"], env, log)
    try:
        deadline = time.monotonic() + 120
        while _checkpoint(fresh_db_url) < head:
            assert proc.poll() is None, "projector exited; see its log"
            assert time.monotonic() < deadline, "projector did not catch up"
            await asyncio.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    report = await replay_and_compare(fresh_db_url)
    assert report.identical, report.lines()
    assert all(p.position == head for p in report.projections)
    assert kills == 3
