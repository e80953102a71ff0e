"""arq job: import a dataset (images and annotations) into a project, one new task per
subset of the dataset (train, val, ...), named after it and in it, as CVAT does.

The upload is unpacked safely and the format's importer reads it once against all of its
images (pipeline.dataset_frames, sized from their headers) and the project's labels,
telling which subset each image's item is in (backend/formats/subsets.py splits the
annotations along). Only then is anything recorded: per subset, its images are built into
a data set exactly as uploaded task data is, the task is created in the project (owned by
the project's owner, as CVAT does; the importer is the events' actor), its data attached,
and its annotations written as one event per job (source "import"). A problem anywhere
fails the request naming it, and the tasks already created are deleted again, so a failed
or cancelled import leaves the project as it was."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from backend.domain import tasks as domain
from backend.domain.annotations import CvatAnnotations
from backend.domain.errors import DomainError
from backend.domain.label_edits import LabelEdit
from backend.formats import pipeline, project_export, registry
from backend.formats.cancel import checkpoint
from backend.formats.import_context import ImportContext
from backend.formats.model import ExportSource, FormatError, FrameSpec, Importer
from backend.formats.subsets import SubsetPart, renumber, split_by_subset
from backend.media import tasks_port
from backend.media.archive import ArchiveLimits
from backend.media.build import Received, build, header_size
from backend.media.images import MediaError
from backend.media.spec import DataParams
from backend.media.storage import StoredData, TaskStorage
from backend.projections.runner import BACKGROUND_WAIT_S
from backend.services import requests
from backend.services.annotation_import import replace_annotations
from backend.services.job_annotations import EventMetadata
from workers.formats_jobs import (
    Done,
    Progress,
    fetch_input,
    import_context,
    import_report,
    in_thread,
    read_upload,
    report_message,
    run_request,
    scratch_dir,
    upload_cleanup,
)

if TYPE_CHECKING:
    from backend.bootstrap import Container
    from backend.formats.model import LabelSpec

log = structlog.get_logger(__name__)


def _read(
    upload: Path, filename: str, work: Path, limits: ArchiveLimits, importer: Importer,
    labels: list[LabelSpec], params: dict[str, Any], context: ImportContext,
) -> tuple[list[tuple[str, Path]], CvatAnnotations]:  # fmt: skip
    """(the dataset's images, its annotations on them as frames 0..n-1), in a thread."""
    root = pipeline.unpack_upload(upload, filename, work, limits)
    if root.is_file():
        raise FormatError(
            f"{filename}: a dataset import takes a zip archive of the images and annotations"
        )
    images = pipeline.dataset_frames(root)
    frames = []
    for number, (name, path) in enumerate(images):
        try:
            width, height = header_size(path, name)
        except MediaError as exc:
            raise FormatError(f"{filename}: {exc}") from None
        frames.append(FrameSpec(number, name, width, height))
    nothing = CvatAnnotations(version=0, shapes=[], tracks=[], tags=[])
    every = ExportSource(
        task_id=0, task_name=Path(filename).stem, job_id=None, mode="annotation",
        dimension="2d", frames=frames, labels=labels, annotations=nothing,
        image_path=lambda number: images[number][1], scope="project",
    )  # fmt: skip
    return images, read_upload(importer, root, every, filename, params, context)


def _subset_names(images: list[tuple[str, Path]], part: SubsetPart) -> list[str]:
    """The part's frame names: file names when they are unique in the subset, else the
    dataset's names (paths inside the dataset)."""
    bases = [images[n][1].name for n in part.frames]
    if len(set(bases)) == len(bases):
        return bases
    return [images[n][0] for n in part.frames]


def _build(
    work: Path, index: int, received: list[Received], limits: ArchiveLimits
) -> tuple[Path, StoredData]:
    out = work / f"build_{index}"
    try:
        stored = build(
            TaskStorage(work, 0), out, received, DataParams(image_quality=70), limits=limits,
            progress=lambda _: None, check=checkpoint,
        )  # fmt: skip
    except MediaError as exc:
        raise FormatError(str(exc)) from None
    return out, stored


async def _discard(container: Container, task_ids: list[int], actor: int) -> None:
    for task_id in task_ids:
        try:
            position = await container.resources.delete_task(actor, task_id)
            await container.waiter.wait(position, BACKGROUND_WAIT_S)
        except DomainError:
            pass
        await asyncio.to_thread(TaskStorage(container.settings.data_dir, task_id).remove_all)


async def import_project_dataset(ctx: dict[str, Any], rq_id: str) -> str:
    container: Container = ctx["container"]
    data_dir = container.settings.data_dir
    work = scratch_dir(data_dir, rq_id)

    async def body(row: requests.RequestRow) -> Done:
        op = row.operation
        importer = registry.importer_for(str(op.format)).importer
        assert importer is not None and op.project_id is not None
        async with container.pool.connection() as conn:
            project = await project_export.project_info(conn, op.project_id)
            # CVAT (bindings.load_dataset_data) gives the new tasks to the project's owner
            cur = await conn.execute("SELECT owner_id FROM projects WHERE id = %s", [op.project_id])
            found = await cur.fetchone()
            owner = found[0] if found else None
        filename = str(row.params["filename"])
        limits = ArchiveLimits(max_unpacked_bytes=container.settings.max_upload_mb * 4 * 2**20)
        progress = Progress(container, rq_id)
        upload = await fetch_input(container, row, work)
        actor = row.owner_id
        added: list[int] = []
        if not project.labels:  # CVAT: a project without labels takes the dataset's
            probe = dataclasses.replace(import_context(row.params), skip_invalid=True)
            await in_thread(
                progress,
                lambda: _read(upload, filename, work / "probe", limits, importer, [], {}, probe),
            )
            added = await _add_labels(container, actor, op.project_id, probe.unknown_labels)
            async with container.pool.connection() as conn:
                project = await project_export.project_info(conn, op.project_id)
        context = import_context(row.params, subsets=True)
        created: list[int] = []
        summary = []
        try:
            images, data = await in_thread(
                progress,
                lambda: _read(
                    upload, filename, work, limits, importer, project.labels, row.params, context
                ),
            )
            parts, left_out = split_by_subset(len(images), context.subsets or {}, data)
            progress.set(0.2)
            for index, part in enumerate(parts):
                names = _subset_names(images, part)
                received = [
                    Received(name, images[n][1], "image")
                    for name, n in zip(names, part.frames, strict=True)
                ]
                out, stored = await in_thread(
                    progress, functools.partial(_build, work, index, received, limits)
                )
                fields = domain.TaskFields(
                    name=part.name, subset=part.name, project_id=op.project_id, owner_id=owner
                )
                task_id, _ = await container.resources.create_task(
                    actor, fields, [], segment_size=0, overlap=None
                )
                created.append(task_id)
                await asyncio.to_thread(_publish, TaskStorage(data_dir, task_id), out)
                await tasks_port.attach(container, task_id, stored.spec, actor)
                # the part's frame i is names[i]; the task's order is the build's
                built = {frame.name: number for number, frame in enumerate(stored.spec.frames)}
                order = {i: built[name] for i, name in enumerate(names)}
                order[len(names)] = len(names)  # a track's closing keyframe past the end
                annotations = renumber(part.annotations, order)
                report = import_report(row, context, annotations)
                metadata = EventMetadata(actor=actor, source="import", request_id=rq_id)
                outcomes = await replace_annotations(
                    container, task_id, None, annotations, metadata, report=report
                )
                position = max((o.position for o in outcomes), default=0)
                if position:
                    await container.waiter.wait(position, BACKGROUND_WAIT_S)
                summary.append(f"task {task_id} {part.name!r}: {len(names)} images")
                progress.set(0.2 + 0.8 * (index + 1) / len(parts))
                await progress.check_cancelled()
        except BaseException:
            await _discard(container, created, actor)
            await _remove_labels(container, actor, op.project_id, added)
            raise
        log.info("dataset imported", rq_id=rq_id, project_id=op.project_id, tasks=created)
        lines = [f"Created {len(created)} tasks: {', '.join(summary)}."]
        if added:
            taken = ", ".join(label.name for label in project.labels)
            lines.append(f"The project took the dataset's labels: {taken}.")
        if left_out:
            shown = ", ".join(images[n][0] for n in left_out[:10])
            more = f" and {len(left_out) - 10} more" if len(left_out) > 10 else ""
            lines.append(
                f"{len(left_out)} images that the annotations do not name were left out: "
                f"{shown}{more}."
            )
        return Done(message=report_message(import_report(row, context, data), context, *lines))

    cleanup = upload_cleanup(container, work)
    return await run_request(container, rq_id, "import the dataset", body, cleanup)


async def _add_labels(
    container: Container, actor: int, project_id: int, names: set[str]
) -> list[int]:
    """The dataset's labels, added to the project (type any); their ids."""
    if not names:
        return []
    edits = [LabelEdit(name=name) for name in sorted(names)]
    position = await container.resources.update_project(
        actor, project_id, domain.ProjectFields(), edits
    )
    await container.waiter.wait(position, BACKGROUND_WAIT_S)
    async with container.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id FROM labels WHERE project_id = %s AND name = ANY(%s)",
            [project_id, sorted(names)],
        )
        return [int(r[0]) for r in await cur.fetchall()]


async def _remove_labels(
    container: Container, actor: int, project_id: int, label_ids: list[int]
) -> None:
    """A failed import takes the labels it added away again."""
    if label_ids:
        edits = [LabelEdit(id=label_id, deleted=True) for label_id in label_ids]
        position = await container.resources.update_project(
            actor, project_id, domain.ProjectFields(), edits
        )
        await container.waiter.wait(position, BACKGROUND_WAIT_S)


def _publish(storage: TaskStorage, build_dir: Path) -> None:
    storage.root.mkdir(parents=True, exist_ok=True)
    storage.publish(build_dir)
