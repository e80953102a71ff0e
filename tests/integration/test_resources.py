"""Projects, tasks and jobs through ResourceService -> store -> projector -> read models."""

from __future__ import annotations

import pytest

from backend.domain.errors import DomainError
from backend.domain.job_workflow import WorkflowChange
from backend.domain.label_edits import AttributeEdit, LabelEdit
from backend.domain.tasks import FrameInfo, ProjectFields, TaskData, TaskFields
from backend.eventstore.postgres import PostgresEventStore
from backend.projections.registry import all_projections
from backend.projections.replay import replay_and_compare
from backend.projections.runner import Projector
from backend.services.job_annotations import JobAnnotationsService
from backend.services.tasks import ResourceService

CAR = LabelEdit(
    name="car",
    attributes=[AttributeEdit(name="color", input_type="select", values=["red", "blue"])],
)


@pytest.fixture
async def env(pool):
    store = PostgresEventStore(pool)
    service = ResourceService(store, pool, JobAnnotationsService(store, pool))
    yield service, Projector(pool, store, all_projections())
    await store.close()


async def rows(pool, sql: str, *params):
    async with pool.connection() as conn:
        cur = await conn.execute(sql, params)
        return await cur.fetchall()


def frames(n: int) -> TaskData:
    return TaskData(frames=[FrameInfo(name=f"{i:03}.png", width=8, height=6) for i in range(n)])


async def test_task_lifecycle_builds_read_models_and_jobs(env, pool, fresh_db_url):
    service, projector = env
    task_id, _ = await service.create_task(
        7, TaskFields(name="cars", subset="train"), [CAR, LabelEdit(name="bike")],
        segment_size=4, overlap=None,
    )  # fmt: skip
    await service.attach_data(7, task_id, frames(10))
    second = (await service._attached(task_id)).jobs[1].job_id
    await service.update_job(7, second, WorkflowChange(stage="validation", assignee_id=7))
    await projector.catch_up()
    assert await rows(pool, "SELECT name, subset, size, owner_id FROM tasks") == [
        ("cars", "train", 10, None)
    ]
    labels = await rows(pool, "SELECT name, task_id, attributes FROM labels ORDER BY position")
    assert [(n, t) for n, t, _ in labels] == [("car", task_id), ("bike", task_id)]
    assert (
        labels[0][2][0]["values"] == ["red", "blue"] and labels[0][2][0]["default_value"] == "red"
    )
    jobs = await rows(
        pool, "SELECT start_frame, stop_frame, stage, assignee_id FROM jobs ORDER BY id"
    )
    assert jobs == [(0, 3, "annotation", None), (4, 7, "validation", 7), (8, 9, "annotation", None)]
    # Job streams started: their annotations can be written.
    for job_id in [j.job_id for j in (await service._attached(task_id)).jobs]:
        assert await service.store.stream_revision(f"job-{job_id}") is not None
    assert (await replay_and_compare(fresh_db_url)).identical


async def test_project_labels_and_cascade_delete(env, pool, fresh_db_url):
    service, projector = env
    project_id, _ = await service.create_project(1, ProjectFields(name="p"), [CAR])
    task_id, _ = await service.create_task(
        1, TaskFields(name="t", project_id=project_id), [], segment_size=0, overlap=None
    )
    await service.attach_data(1, task_id, frames(3))
    await projector.catch_up()
    (label_id,) = (await rows(pool, "SELECT id FROM labels WHERE project_id = %s", project_id))[0]
    await service.update_project(
        1, project_id, ProjectFields(bug_tracker="http://bugs"),
        [LabelEdit(id=label_id, name="automobile"), LabelEdit(name="truck")],
    )  # fmt: skip
    await projector.catch_up()
    names = await rows(pool, "SELECT name FROM labels WHERE project_id = %s ORDER BY position",
                       project_id)  # fmt: skip
    assert names == [("automobile",), ("truck",)]
    await service.delete_project(1, project_id, [task_id])
    await projector.catch_up()
    for table in ("projects", "tasks", "labels", "jobs"):
        assert await rows(pool, f"SELECT 1 FROM {table}") == []
    assert (await replay_and_compare(fresh_db_url)).identical


async def test_invalid_requests_name_the_field_and_append_nothing(env, pool):
    service, _ = env
    head = await service.store.head_position()
    bad = [
        dict(fields=TaskFields(name=" "), labels=[]),
        dict(fields=TaskFields(name="t"), labels=[CAR, LabelEdit(name="car")]),
        dict(fields=TaskFields(name="t"),
             labels=[LabelEdit(name="x", attributes=[AttributeEdit(name="n", input_type="number",
                                                                   values=["5", "1", "1"])])]),
    ]  # fmt: skip
    for args in bad:
        with pytest.raises(DomainError) as info:
            await service.create_task(1, segment_size=0, overlap=None, **args)
        assert info.value.field
    assert await service.store.head_position() == head


async def test_a_job_whose_stream_never_started_is_repaired_on_first_write(env, pool):
    """A crash between the task's TaskDataAttached and the jobs' JobCreated leaves jobs the
    task knows but whose streams are empty: the first annotation write starts them."""
    from backend.domain import tasks as domain
    from backend.domain.commands import CreateObjects
    from backend.domain.labels import LabelSet, LabelSpec
    from backend.domain.objects import LabeledShape

    service, projector = env
    task_id, _ = await service.create_task(
        1, TaskFields(name="t"), [LabelEdit(name="car")], segment_size=0, overlap=None
    )
    (job_id,) = await service.allocate("job_ids", 1)
    await service._decide(  # what attach_data does before it starts the job streams
        f"task-{task_id}", lambda: domain.TaskState(task_id=task_id),
        lambda s: [domain.attach_data(s, frames(3), iter([job_id]))], 1,
    )  # fmt: skip
    await projector.catch_up()
    assert await service.store.stream_revision(f"job-{job_id}") is None
    annotations = service.annotations
    annotations.start_missing_job = service.ensure_job_stream
    (label_id,) = (await rows(pool, "SELECT id FROM labels WHERE task_id = %s", task_id))[0]
    shape = LabeledShape(type="rectangle", frame=2, label_id=label_id, points=[0, 0, 1, 1])
    labels = LabelSet([LabelSpec(id=label_id, name="car")])
    outcome = await annotations.execute(job_id, [CreateObjects(shapes=[shape])], labels)
    assert outcome.revision == 1  # JobCreated (the repair), then the shapes
