"""Restoring a task or project backup: check everything, build the data, then create.

Phase 1 (`prepare_task`, nothing created): read task.json, annotations.json and the
history files, check the labels as the domain will create them, build the task's data
from data/ through the media pipeline with the backup's settings (into a build directory
under the data dir), check the jobs the data will be cut into against the backup's, and
decide every job's annotations against throw-away ids. Any problem is a BackupError naming
the file and the place, and nothing exists yet.

Phase 2 (`create_task`): create the task through ResourceService (events: the restore is
in the audit trail), publish the built data and attach it (which creates the jobs), then
per job: the restored history record (package docstring), the workflow fields, and the
annotations as ONE event with source "import". A failure here deletes what was created
(`discard`), so no half-made task stays."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from backend.backups.annotations import JobAnnotationsIn, from_backup
from backend.backups.layout import (
    ANNOTATIONS_FILE,
    DATA_DIR,
    HISTORY_DIR,
    TASK_FILE,
    BackupError,
    LabelIn,
    TaskIn,
    check_jobs,
    label_edits,
    segment_params,
)
from backend.backups.reading import BackupArchive
from backend.domain import tasks as domain
from backend.domain.annotations import JobAnnotations
from backend.domain.commands import ReplaceAnnotations
from backend.domain.errors import DomainError
from backend.domain.events import JobCreated
from backend.domain.job_workflow import STAGES, STATES, WorkflowChange
from backend.domain.label_edits import LabelEdit, new_labels
from backend.domain.labels import LabelSet
from backend.eventstore.port import ANY, NewEvent
from backend.media import images, manifest
from backend.media.archive import ArchiveLimits
from backend.media.build import Received, build
from backend.media.images import MediaError
from backend.media.spec import DataParams, TaskDataSpec
from backend.media.storage import StoredData, TaskStorage, write_meta
from backend.projections.runner import BACKGROUND_WAIT_S
from backend.services.job_annotations import EventMetadata
from backend.services.labels import labels_for_task

if TYPE_CHECKING:
    from backend.bootstrap import Container

HISTORY_EVENT = "HistoryRestored"
_HISTORY_APPEND_BATCH = 500


class HistoryLine(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """What a restore checks of an original history entry (it keeps the line verbatim)."""

    revision: int
    type: str
    recorded_at: str


@dataclass
class TaskPlan:
    task: TaskIn
    build_dir: Path
    stored: StoredData
    jobs_annotations: list[Any]  # annotations.json, checked
    history: list[list[bytes]] = field(default_factory=list)  # per job: original lines


def _label_set(labels: list[LabelIn], where: str) -> tuple[list[LabelEdit], LabelSet]:
    """The label edits of the new task/project, and a LabelSet with throw-away ids to
    check the annotations against; BackupError naming the label when the domain refuses."""
    try:
        edits = msgspec.convert(label_edits(labels), list[LabelEdit])
        return edits, LabelSet(new_labels(edits, itertools.count(1)))
    except msgspec.ValidationError as exc:
        raise BackupError(f"{where}: labels: {exc}") from None
    except DomainError as exc:
        raise BackupError(f"{where}: {exc}") from None


def _params(task: TaskIn) -> DataParams:
    data = task.data
    use_cache = data.storage_method == "cache"
    use_zip = data.chunk_type == "imageset"
    if task.vellum is not None:
        use_cache, use_zip = task.vellum.use_cache, task.vellum.use_zip_chunks
    if task.vellum is not None and task.vellum.frames is not None:
        # data/ holds exactly the task's frames in order: build them without cutting again.
        return DataParams(
            image_quality=data.image_quality, chunk_size=data.chunk_size,
            sorting_method="predefined", upload_file_order=list(task.vellum.frames),
            use_cache=use_cache, use_zip_chunks=use_zip,
        )  # fmt: skip
    return DataParams(
        image_quality=data.image_quality, chunk_size=data.chunk_size,
        start_frame=data.start_frame, stop_frame=data.stop_frame,
        frame_filter=data.frame_filter, sorting_method=data.sorting_method,
        use_cache=use_cache, use_zip_chunks=use_zip,
    )  # fmt: skip


def _kind(path: Path, name: str) -> images.FileKind:
    with path.open("rb") as f:
        if manifest.looks_like_manifest(f.read(256)):
            manifest.read(path, name)
            return "manifest"
    return images.sniff(path, name)


def _as_recorded(task: TaskIn, stored: StoredData) -> StoredData:
    """With data/ holding the frames as shown, the build saw start 0 and no step: record
    the original settings, as CVAT does after restoring."""
    if task.vellum is None or task.vellum.frames is None:
        return stored
    data = task.data
    spec = msgspec.structs.replace(
        stored.spec, start_frame=data.start_frame,
        stop_frame=data.stop_frame if data.stop_frame is not None else stored.spec.stop_frame,
        frame_filter=data.frame_filter, sorting_method=data.sorting_method,
    )  # fmt: skip
    return msgspec.structs.replace(stored, spec=spec)


def _history(archive: BackupArchive, prefix: str, jobs: int) -> list[list[bytes]]:
    out: list[list[bytes]] = []
    for index in range(jobs):
        name = f"{prefix}{HISTORY_DIR}/job_{index}.jsonl"
        if not archive.has(name):
            raise BackupError(f"{name} is missing from the backup (it says it has the history)")
        lines = [line for line in archive.read(name).splitlines() if line.strip()]
        for number, line in enumerate(lines, 1):
            try:
                msgspec.json.decode(line, type=HistoryLine)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                raise BackupError(f"{name}: line {number}: {exc}") from None
        out.append(lines)
    return out


def _check_annotations(task: TaskIn, raw: Any, labels: LabelSet, prefix: str) -> list[Any]:
    jobs = [j for j in task.jobs if j.type == "annotation"]
    where, task_file = f"{prefix}{ANNOTATIONS_FILE}", f"{prefix}{TASK_FILE}"
    if not isinstance(raw, list):
        raise BackupError(f"{where}: a list of job annotations is expected")
    if len(raw) != len(jobs):
        raise BackupError(
            f"{where}: holds {len(raw)} jobs' annotations, {task_file} has {len(jobs)} jobs"
        )
    for index, (job, data) in enumerate(zip(jobs, raw, strict=True)):
        if job.stage is not None and job.stage not in STAGES:
            raise BackupError(f"{task_file}: jobs[{index}].stage: {job.stage!r} is not a stage")
        if job.state is not None and job.state not in STATES:
            raise BackupError(f"{task_file}: jobs[{index}].state: {job.state!r} is not a state")
        content = from_backup(data, labels, index, where)
        state = JobAnnotations()
        state.apply(JobCreated(job_id=index, task_id=0, start_frame=job.start_frame,
                               stop_frame=job.stop_frame))  # fmt: skip
        command = ReplaceAnnotations(
            shapes=content.shapes, tracks=content.tracks, tags=content.tags
        )
        try:
            state.decide([command], labels, itertools.count(1))
        except DomainError as exc:
            raise BackupError(f"{where}[{index}]: {exc}") from None
    return raw


def prepare_task(
    archive: BackupArchive, prefix: str, work: Path, data_dir: Path, *,
    limits: ArchiveLimits, labels: LabelSet | None, progress: Callable[[float], None],
    check: Callable[[], None],
) -> TaskPlan:  # fmt: skip
    """Phase 1 for the task under `prefix` ("" or "task_N/"), in a worker thread. `labels`
    are the project's (a task inside a project backup); `work` is removed by the caller."""
    task_file = f"{prefix}{TASK_FILE}"
    task: TaskIn = archive.json(task_file, TaskIn)
    if labels is None:
        _, labels = _label_set(task.labels, task_file)
    try:
        annotations_raw = msgspec.json.decode(archive.read(f"{prefix}{ANNOTATIONS_FILE}"))
    except msgspec.DecodeError as exc:
        raise BackupError(f"{prefix}{ANNOTATIONS_FILE}: not valid JSON ({exc})") from None
    params = _params(task)
    problems = params.problems()
    if problems:
        field_name, messages = next(iter(problems.items()))
        raise BackupError(f"{task_file}: data.{field_name}: {messages[0]}")
    history: list[list[bytes]] = []
    if task.vellum is not None and task.vellum.with_history:
        history = _history(archive, prefix, len([j for j in task.jobs if j.type == "annotation"]))
    if not archive.under(f"{prefix}{DATA_DIR}/"):
        raise BackupError(f"{prefix}{DATA_DIR}/ is missing from the backup: it holds no media")
    files = archive.extract(f"{prefix}{DATA_DIR}/", work / "data")
    received = []
    for name, path in files:
        try:
            received.append(Received(name, path, _kind(path, name)))
        except MediaError as exc:
            raise BackupError(f"{prefix}{DATA_DIR}/{exc}") from None
    if task.vellum is not None and task.vellum.frames is not None:
        given = {r.name for r in received if r.kind != "manifest"}
        missing = [name for name in task.vellum.frames if name not in given]
        if missing:
            raise BackupError(f"{prefix}{DATA_DIR}/{missing[0]} is missing from the backup")
    storage = TaskStorage(data_dir, 0)  # only its paths relative to `out` are used
    out = data_dir / "data" / "backups" / f"build-{uuid.uuid4().hex}"
    try:
        try:
            stored = build(storage, out, received, params, limits=limits, progress=progress,
                           check=check)  # fmt: skip
        except MediaError as exc:
            raise BackupError(f"{prefix}{DATA_DIR}/: {exc}") from None
        stored = _as_recorded(task, stored)
        write_meta(storage.meta_path(out), stored)
        check_jobs(task, stored.spec.size, stored.spec.mode, task_file)
        checked = _check_annotations(task, annotations_raw, labels, prefix)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return TaskPlan(task=task, build_dir=out, stored=stored, jobs_annotations=checked,
                    history=history)  # fmt: skip


async def create_task(
    container: Container, plan: TaskPlan, actor: int, *, rq_id: str,
    project_id: int | None = None,
) -> int:  # fmt: skip
    """Phase 2: the task, its data, jobs, history and annotations. Returns the task id;
    on failure removes the task again and re-raises."""
    task = plan.task
    edits = [] if project_id is not None else _label_set(task.labels, TASK_FILE)[0]
    size, overlap = segment_params(task)
    fields = domain.TaskFields(
        name=task.name, project_id=project_id, owner_id=actor, bug_tracker=task.bug_tracker,
        subset=task.subset,
    )  # fmt: skip
    task_id, position = await container.resources.create_task(
        actor, fields, edits, segment_size=size, overlap=overlap
    )
    storage = TaskStorage(container.settings.data_dir, task_id)
    try:
        await asyncio.to_thread(_publish, storage, plan.build_dir)
        spec: TaskDataSpec = plan.stored.spec
        position = await container.resources.attach_data(
            actor, task_id, msgspec.convert(msgspec.to_builtins(spec), domain.TaskData)
        )
        await container.waiter.wait(position, BACKGROUND_WAIT_S)
        await _fill_jobs(container, plan, task_id, actor, rq_id)
    except BaseException:
        await discard_task(container, task_id, actor)
        raise
    return task_id


def _publish(storage: TaskStorage, build_dir: Path) -> None:
    storage.root.mkdir(parents=True, exist_ok=True)
    storage.publish(build_dir)


async def _fill_jobs(
    container: Container, plan: TaskPlan, task_id: int, actor: int, rq_id: str
) -> None:
    async with container.pool.connection() as conn:
        labels = await labels_for_task(conn, task_id)
        cur = await conn.execute(
            "SELECT id FROM jobs WHERE task_id = %s AND type = 'annotation'"
            " ORDER BY start_frame, id",
            [task_id],
        )
        job_ids = [int(r[0]) for r in await cur.fetchall()]
    backup_jobs = [j for j in plan.task.jobs if j.type == "annotation"]
    if len(job_ids) != len(backup_jobs):
        raise BackupError(f"{TASK_FILE}: the restored task has {len(job_ids)} jobs, "
                          f"the backup {len(backup_jobs)}")  # fmt: skip
    position = 0
    request_id = uuid.UUID(rq_id).hex
    for index, (job_id, job) in enumerate(zip(job_ids, backup_jobs, strict=True)):
        if plan.history:
            restored = await _restore_history(container, job_id, plan.history[index], actor, rq_id)
            position = max(position, restored)
        if (job.stage or "annotation") != "annotation" or (job.state or "new") != "new":
            change = WorkflowChange(stage=job.stage or "annotation", state=job.state or "new")
            position = max(position, await container.resources.update_job(actor, job_id, change))
        content: JobAnnotationsIn = from_backup(plan.jobs_annotations[index], labels, index)
        if content.shapes or content.tracks or content.tags:
            outcome = await container.annotations.execute(
                job_id,
                [
                    ReplaceAnnotations(
                        shapes=content.shapes, tracks=content.tracks, tags=content.tags
                    )
                ],
                labels,
                EventMetadata(actor=actor, source="import", request_id=request_id),
            )
            position = max(position, outcome.position)
    await container.waiter.wait(position, BACKGROUND_WAIT_S)


async def _restore_history(
    container: Container, job_id: int, lines: list[bytes], actor: int, rq_id: str
) -> int:
    """The original entries as HistoryRestored records (package docstring)."""
    meta = {"source": "restore", "restored_by": actor, "request_id": uuid.UUID(rq_id).hex}
    position = 0
    for start in range(0, len(lines), _HISTORY_APPEND_BATCH):
        batch = [
            NewEvent(type=HISTORY_EVENT, version=1, data=line, metadata=meta)
            for line in lines[start : start + _HISTORY_APPEND_BATCH]
        ]
        result = await container.store.append(f"job-{job_id}", batch, ANY)
        position = result.last_position
    return position


async def discard_task(container: Container, task_id: int, actor: int) -> None:
    """Remove a task a failed restore created (its deletion is recorded like any other)."""
    try:
        await container.resources.delete_task(actor, task_id)
    except DomainError:
        pass
    await asyncio.to_thread(TaskStorage(container.settings.data_dir, task_id).remove_all)
