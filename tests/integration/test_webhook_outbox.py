"""The webhook outbox from the log, through the real projector: payloads are the objects as
the read models showed them exactly as of each event, even when the projector catches up
on several events at once, and a rebuild (`vellum replay`) never touches the live outbox."""

from __future__ import annotations

import pytest

from backend.api.representations import BaseUrl
from backend.domain.job_workflow import WorkflowChange
from backend.domain.label_edits import LabelEdit
from backend.domain.tasks import FrameInfo, ProjectFields, TaskData, TaskFields
from backend.domain.webhooks import WebhookFields
from backend.eventstore.postgres import PostgresEventStore
from backend.projections.registry import all_projections
from backend.projections.replay import replay_and_compare
from backend.projections.runner import Projector
from backend.projections.webhooks import WebhookSnapshotsProjection, WebhooksProjection
from backend.services.job_annotations import JobAnnotationsService
from backend.services.tasks import ResourceService
from backend.services.webhooks import WebhookService

BASE = "http://vellum.example:8080"


@pytest.fixture
async def env(pool):
    store = PostgresEventStore(pool)
    service = ResourceService(store, pool, JobAnnotationsService(store, pool))
    linker = BaseUrl(BASE)
    projections = [
        WebhookSnapshotsProjection(linker),
        *(p for p in all_projections() if p.name not in ("webhooks", "webhook_snapshots")),
        WebhooksProjection(linker),
    ]
    yield service, WebhookService(store, pool), Projector(pool, store, projections)
    await store.close()


async def outbox(pool) -> list[tuple[str, dict]]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT event, payload FROM webhook_outbox ORDER BY position, seq")
        return list(await cur.fetchall())


def hook(project_id: int, events: list[str]) -> WebhookFields:
    return WebhookFields(type="project", project_id=project_id, owner_id=1,
                         target_url="http://127.0.0.1:9/", events=events)  # fmt: skip


async def test_each_payload_is_the_object_as_of_its_event(env, pool) -> None:
    service, webhooks, projector = env
    pid, _ = await service.create_project(1, ProjectFields(name="n0"), [LabelEdit(name="car")])
    await webhooks.create(
        1, hook(pid, ["update:project", "create:task", "update:task", "create:job"])
    )
    await projector.catch_up()
    # Three changes written before the projector runs again: it reads them in one batch.
    await service.update_project(1, pid, ProjectFields(name="n1"), [])
    task_id, _ = await service.create_task(1, TaskFields(name="t", project_id=pid), [],
                                           segment_size=2, overlap=None)  # fmt: skip
    await service.update_project(1, pid, ProjectFields(name="n2"), [])
    await service.attach_data(1, task_id, TaskData(
        frames=[FrameInfo(name=f"{i}.png", width=8, height=6) for i in range(4)]))  # fmt: skip
    await projector.catch_up()
    got = await outbox(pool)
    assert [e for e, _ in got] == [
        "update:project", "create:task", "update:project", "update:task", "create:job",
        "create:job",
    ]  # fmt: skip
    first, created, second, attached, job0, job1 = (p for _, p in got)
    assert first["project"]["name"] == "n1" and first["before_update"]["name"] == "n0"
    assert first["project"]["tasks"]["count"] == 0  # the task came after this event
    assert created["task"]["size"] == 0 and created["task"]["jobs"]["count"] == 0
    assert second["project"]["name"] == "n2" and second["before_update"]["name"] == "n1"
    assert second["project"]["tasks"]["count"] == 1
    assert attached["task"]["size"] == 4 and attached["before_update"]["size"] == 0
    assert first["project"]["url"] == f"{BASE}/api/projects/{pid}"
    assert [(j["job"]["start_frame"], j["job"]["task_id"]) for j in (job0, job1)] == [
        (0, task_id), (2, task_id)
    ]  # fmt: skip


async def test_a_rebuild_leaves_the_live_outbox_alone(env, pool, fresh_db_url) -> None:
    service, webhooks, projector = env
    pid, _ = await service.create_project(1, ProjectFields(name="r0"), [])
    hid, _ = await webhooks.create(1, hook(pid, ["update:project", "update:job"]))
    task_id, _ = await service.create_task(1, TaskFields(name="t", project_id=pid), [],
                                           segment_size=2, overlap=None)  # fmt: skip
    await service.attach_data(1, task_id, TaskData(
        frames=[FrameInfo(name=f"{i}.png", width=8, height=6) for i in range(2)]))  # fmt: skip
    await projector.catch_up()
    job_id = (await service._attached(task_id)).jobs[0].job_id
    await service.update_job(1, job_id, WorkflowChange(stage="validation"))
    await service.update_project(1, pid, ProjectFields(name="r1"), [])
    await projector.catch_up()
    live = await outbox(pool)
    assert [e for e, _ in live] == ["update:job", "update:project"]
    assert live[0][1]["job"]["stage"] == "validation"
    assert live[0][1]["before_update"]["stage"] == "annotation"
    report = await replay_and_compare(fresh_db_url)
    assert report.identical, report.lines()
    assert await outbox(pool) == live
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM webhook_snapshots")
        assert await cur.fetchone() == (0,)  # each was used by its event and removed
    assert hid
