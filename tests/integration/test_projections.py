"""Service -> event store -> projector -> read models, checked against the aggregate and
against a replay from position 0."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from backend.domain.commands import (
    ClearAnnotations,
    CreateJob,
    CreateObjects,
    DeleteObjects,
    ReplaceAnnotations,
    UpdateObjects,
)
from backend.domain.errors import DomainError
from backend.domain.labels import AttributeSpec, LabelSet, LabelSpec
from backend.domain.objects import AttributeVal, LabeledImage, LabeledShape, ShapePatch
from backend.eventstore.postgres import PostgresEventStore
from backend.projections.registry import all_projections
from backend.projections.replay import replay_and_compare
from backend.projections.runner import ProjectionLag, Projector, wait_for_projection
from backend.services.job_annotations import EventMetadata, JobAnnotationsService

LABELS = LabelSet(
    [
        LabelSpec(
            id=1, name="car",
            attributes=[AttributeSpec(id=10, name="color", input_type="select",
                                      values=["red", "blue"], default_value="red", mutable=True)],
        ),
        LabelSpec(id=2, name="weather", type="tag"),
    ]
)  # fmt: skip


def rect(frame: int, x: float, label: int = 1) -> LabeledShape:
    return LabeledShape(
        type="rectangle", frame=frame, label_id=label, points=[x, x, x + 10, x + 20],
        attributes=[AttributeVal(10, "red")],
    )  # fmt: skip


@pytest.fixture
async def env(pool):
    store = PostgresEventStore(pool)
    service = JobAnnotationsService(store, pool, snapshot_every=3)
    projector = Projector(pool, store, all_projections(), batch=5)
    yield store, service, projector
    await store.close()


async def read_model(pool, job_id: int) -> dict[str, list[dict]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT kind, data FROM job_objects WHERE job_id = %s ORDER BY object_id", [job_id]
        )
        out: dict[str, list[dict]] = {"shape": [], "track": [], "tag": []}
        for kind, data in await cur.fetchall():
            out[kind].append(data)
        return out


def expected(state) -> dict[str, list[dict]]:
    cvat = msgspec.to_builtins(state.to_cvat())
    return {"shape": cvat["shapes"], "track": cvat["tracks"], "tag": cvat["tags"]}


async def test_read_models_follow_the_aggregate_and_match_a_replay(env, pool, fresh_db_url):
    store, service, projector = env
    meta = EventMetadata(actor=1, source="api")
    for job_id in (1, 2):
        await service.create_job(CreateJob(job_id=job_id, task_id=7, start_frame=0, stop_frame=9))
    created = await service.execute(
        1, [CreateObjects(shapes=[rect(f, f * 10.0) for f in range(5)],
                          tags=[LabeledImage(frame=0, label_id=2)])], LABELS, meta,
    )  # fmt: skip
    ids = [s.id for s in created.events[0].shapes]
    await service.execute(2, [CreateObjects(shapes=[rect(3, 1.0)])], LABELS, meta)
    await service.execute(
        1, [UpdateObjects(shapes=[ShapePatch(id=ids[0], points=[1, 2, 3, 4])]),
            DeleteObjects(shapes=[ids[1]])], LABELS, meta,
    )  # fmt: skip
    await projector.catch_up()
    state = await service.load(1)
    assert await read_model(pool, 1) == expected(state)
    assert len((await read_model(pool, 1))["shape"]) == 4

    await service.execute(2, [ReplaceAnnotations(shapes=[rect(0, 5.0), rect(1, 6.0)])], LABELS)
    await service.execute(1, [ClearAnnotations()], LABELS)
    await projector.catch_up()
    assert await read_model(pool, 1) == {"shape": [], "track": [], "tag": []}
    assert await read_model(pool, 2) == expected(await service.load(2))

    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id, task_id, revision FROM jobs ORDER BY id")
        rows = await cur.fetchall()
    assert rows == [(1, 7, (await service.load(1)).revision), (2, 7, 2)]

    report = await replay_and_compare(fresh_db_url)
    assert report.identical, report.lines()


async def test_replay_reports_a_tampered_read_model(env, pool, fresh_db_url):
    store, service, projector = env
    await service.create_job(CreateJob(job_id=5, task_id=1, start_frame=0, stop_frame=3))
    await service.execute(5, [CreateObjects(shapes=[rect(0, 1.0), rect(1, 2.0)])], LABELS)
    await projector.catch_up()
    async with pool.connection() as conn:
        await conn.execute("UPDATE job_objects SET frame = frame + 1 WHERE job_id = 5")
    report = await replay_and_compare(fresh_db_url)
    assert not report.identical
    diff = next(t for p in report.projections for t in p.tables if t.table == "job_objects")
    assert diff.only_live == 2 and diff.only_replayed == 2


async def test_invalid_batch_appends_nothing(env, pool):
    store, service, projector = env
    await service.create_job(CreateJob(job_id=9, task_id=1, start_frame=0, stop_frame=3))
    head = await store.head_position()
    with pytest.raises(DomainError) as info:
        await service.execute(9, [CreateObjects(shapes=[rect(0, 1.0), rect(99, 2.0)])], LABELS)
    assert "frame" in str(info.value)
    assert await store.head_position() == head


async def test_concurrent_edits_of_different_properties_both_apply(env, pool):
    store, _, projector = env
    # Two services = two app processes with their own caches, racing on one job.
    a = JobAnnotationsService(store, pool)
    b = JobAnnotationsService(store, pool)
    await a.create_job(CreateJob(job_id=3, task_id=1, start_frame=0, stop_frame=3))
    out = await a.execute(3, [CreateObjects(shapes=[rect(0, 1.0)])], LABELS)
    shape_id = out.events[0].shapes[0].id
    await b.load(3)
    await asyncio.gather(
        a.execute(
            3, [UpdateObjects(shapes=[ShapePatch(id=shape_id, points=[5, 5, 9, 9])])], LABELS
        ),
        b.execute(3, [UpdateObjects(shapes=[ShapePatch(id=shape_id, occluded=True)])], LABELS),
    )
    for service in (a, b):
        shape = (await service.load(3)).get("shape", shape_id)
        assert shape.points == [5, 5, 9, 9] and shape.occluded is True


async def test_snapshot_plus_tail_equals_full_replay(env, pool):
    store, service, _ = env
    await service.create_job(CreateJob(job_id=4, task_id=1, start_frame=0, stop_frame=9))
    for f in range(8):
        await service.execute(4, [CreateObjects(shapes=[rect(f, float(f))])], LABELS)
    assert (await store.load_snapshot("job-4")) is not None
    cold = await JobAnnotationsService(store, pool).load(4)
    assert expected(cold) == expected(await service.load(4))
    old = await JobAnnotationsService(store, pool).load(4, at_revision=3)
    assert old.revision == 3 and len(old) == 3


async def test_read_your_writes_waits_for_the_projector(env, pool):
    store, service, projector = env
    out = await service.create_job(CreateJob(job_id=6, task_id=1, start_frame=0, stop_frame=1))
    with pytest.raises(ProjectionLag):
        await wait_for_projection(pool, "jobs", out.position, timeout_s=0.2)
    waiter = asyncio.create_task(wait_for_projection(pool, "jobs", out.position, timeout_s=10))
    await asyncio.sleep(0.05)
    await projector.catch_up()
    await asyncio.wait_for(waiter, 10)


async def test_a_load_between_commit_and_ack_does_not_apply_events_twice(pool):
    """The append's ack reaches the service only after the commit; a load in that window
    already reads the new events from the stream into the cached aggregate."""

    class LateAck(PostgresEventStore):
        async def append(self, stream_id, events, expected_revision):
            result = await super().append(stream_id, events, expected_revision)
            await service.load(8)  # what a concurrent request may do in the window
            return result

    store = LateAck(pool)
    service = JobAnnotationsService(store, pool)
    await service.create_job(CreateJob(job_id=8, task_id=1, start_frame=0, stop_frame=9))
    for f in range(3):
        await service.execute(8, [CreateObjects(shapes=[rect(f, float(f))])], LABELS)
    state = await service.load(8)
    assert state.revision == await store.stream_revision("job-8") == 3
    assert len(state) == 3
    await store.close()
