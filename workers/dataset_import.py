"""arq job: import a dataset (images and annotations) into a project, creating a task.

The upload is unpacked safely; its frame images (pipeline.dataset_frames) are built into
a data set exactly as uploaded task data is, BEFORE anything is recorded; then the task is
created in the project, its data attached, and the format's importer maps the annotations
onto the new task's frames and the project's labels, written as one event per job (source
"import"). A problem anywhere fails the request naming it, and a task already created is
deleted again, so a failed import leaves the project as it was."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from backend.domain import tasks as domain
from backend.domain.errors import DomainError
from backend.formats import pipeline, registry, sources
from backend.formats.model import FormatError
from backend.media import tasks_port
from backend.media.archive import ArchiveLimits
from backend.media.build import Received, build
from backend.media.images import MediaError
from backend.media.spec import DataParams
from backend.media.storage import StoredData, TaskStorage
from backend.services import requests
from backend.services.annotation_import import replace_annotations
from backend.services.job_annotations import EventMetadata
from workers.formats_jobs import (
    Progress,
    in_thread,
    read_upload,
    run_request,
    scratch_dir,
    upload_cleanup,
)

if TYPE_CHECKING:
    from backend.bootstrap import Container

log = structlog.get_logger(__name__)


def _prepare(
    upload: Path, filename: str, work: Path, limits: ArchiveLimits, progress: Progress
) -> tuple[Path, Path, StoredData]:
    """(unpacked dataset, built data set, its record), in a worker thread."""
    root = pipeline.unpack_upload(upload, filename, work, limits)
    if root.is_file():
        raise FormatError(
            f"{filename}: a dataset import takes a zip archive of the images and annotations"
        )
    frames = pipeline.dataset_frames(root)
    progress.set(0.1)
    out = work / "build"
    try:
        stored = build(
            TaskStorage(work, 0), out, [Received(name, path, "image") for name, path in frames],
            DataParams(image_quality=70), limits=limits,
            progress=lambda p: progress.set(0.1 + 0.6 * p), check=lambda: None,
        )  # fmt: skip
    except MediaError as exc:
        raise FormatError(f"{filename}: {exc}") from None
    return root, out, stored


async def _discard(container: Container, task_id: int, actor: int) -> None:
    try:
        await container.resources.delete_task(actor, task_id)
    except DomainError:
        pass
    await asyncio.to_thread(TaskStorage(container.settings.data_dir, task_id).remove_all)


async def import_project_dataset(ctx: dict[str, Any], rq_id: str) -> str:
    container: Container = ctx["container"]
    data_dir = container.settings.data_dir
    work = scratch_dir(data_dir, rq_id)

    async def body(row: requests.RequestRow) -> tuple[str | None, int | None]:
        op = row.operation
        info = registry.importer_for(str(op.format))
        importer = info.importer
        assert importer is not None and op.project_id is not None
        async with container.pool.connection() as conn:
            cur = await conn.execute("SELECT name FROM projects WHERE id = %s", [op.project_id])
            project = await cur.fetchone()
        if project is None:
            raise sources.SourceMissing(f"project {op.project_id} does not exist")
        filename = str(row.params["filename"])
        limits = ArchiveLimits(max_unpacked_bytes=container.settings.max_upload_mb * 4 * 2**20)
        progress = Progress(container, rq_id)
        upload = Path(str(row.params["file"]))
        root, out, stored = await in_thread(
            progress, lambda: _prepare(upload, filename, work, limits, progress)
        )
        actor = row.owner_id
        name = Path(filename).stem or str(project[0])
        fields = domain.TaskFields(name=name, project_id=op.project_id, owner_id=actor)
        task_id, _ = await container.resources.create_task(
            actor, fields, [], segment_size=0, overlap=None
        )
        try:
            storage = TaskStorage(data_dir, task_id)
            await asyncio.to_thread(_publish, storage, out)
            await tasks_port.attach(container, task_id, stored.spec, actor)
            async with container.pool.connection() as conn:
                target = await sources.task_source(conn, data_dir, task_id)
            data = await in_thread(
                progress, lambda: read_upload(importer, root, target, filename, row.params)
            )
            metadata = EventMetadata(actor=actor, source="import", request_id=rq_id)
            outcomes = await replace_annotations(container, task_id, None, data, metadata)
            position = max((o.position for o in outcomes), default=0)
            if position:
                await container.waiter.wait(position)
        except BaseException:
            await _discard(container, task_id, actor)
            raise
        log.info("dataset imported", rq_id=rq_id, project_id=op.project_id, task_id=task_id)
        return None, task_id

    cleanup = upload_cleanup(container, work)
    return await run_request(container, rq_id, "import the dataset", body, cleanup)


def _publish(storage: TaskStorage, build_dir: Path) -> None:
    storage.root.mkdir(parents=True, exist_ok=True)
    storage.publish(build_dir)
