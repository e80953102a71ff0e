"""arq jobs for dataset export and annotation import requests.

Export: build the ExportSource from the read models and the task's media (a project's
tasks as one dataset with subsets, backend/formats/project_export.py), run the format's
exporter into a scratch directory, zip it to data_dir/data/exports/{rq_id}/, and
finish the request with its absolute `result_url` (GET streams the file).

Import: unpack the upload (or the object fetched from a bucket) safely, run the format's
importer against the target's labels and frames, then replace (or, import_mode=append, add
to) each job's annotations with one event per job (source "import"). An unreadable file or
a refused annotation fails the request naming what and where; an annotation or item the
importer cannot place fails it too, listing every such problem, unless the request said
on_error=skip: then the rest is imported and the finished request's message (and each
event's `report`) says what was left out. Nothing is written on failure. The upload is
removed either way.

Cancellation: a cancelled request's worker thread stops at its next checkpoint
(backend/formats/cancel.py: per item, frame or file), and what it wrote is removed."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import shutil
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import structlog

from backend.cloud import export_target
from backend.domain.annotations import CvatAnnotations
from backend.domain.errors import DomainError
from backend.formats import pipeline, project_export, registry, sources
from backend.formats.cancel import Cancelled, cancellable, checkpoint
from backend.formats.import_context import ImportContext
from backend.formats.masks import masks_to_polygons
from backend.formats.model import ExportSource, FormatError, Importer
from backend.media import chunk_cache, file_uploads
from backend.media.archive import ArchiveLimits
from backend.projections.runner import BACKGROUND_WAIT_S
from backend.services import requests
from backend.services.annotation_import import replace_annotations
from backend.services.job_annotations import EventMetadata

if TYPE_CHECKING:
    from backend.bootstrap import Container

log = structlog.get_logger(__name__)
T = TypeVar("T")
PROGRESS_EVERY_S = 0.5


def scratch_dir(data_dir: str | Path, rq_id: str) -> Path:
    return Path(data_dir) / "data" / "format_work" / rq_id


class Progress:
    """Progress reported from the worker thread, written to the request now and then;
    `cancelled` is set once the user cancels (the thread stops at its next checkpoint)."""

    def __init__(self, container: Container, rq_id: str) -> None:
        self.container = container
        self.rq_id = rq_id
        self.value = 0.0
        self._sent = -1.0
        self._at = 0.0
        self.cancelled = threading.Event()

    def set(self, value: float) -> None:
        self.value = value

    async def flush(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.value != self._sent and (force or now - self._at >= PROGRESS_EVERY_S):
            self._sent, self._at = self.value, now
            async with self.container.pool.connection() as conn:
                await requests.set_progress(conn, self.rq_id, self.value)

    async def check_cancelled(self) -> None:
        async with self.container.pool.connection() as conn:
            if await requests.cancel_requested(conn, self.rq_id):
                self.cancelled.set()
                raise Cancelled


async def in_thread(progress: Progress, work: Callable[[], T]) -> T:
    """Run blocking work in a thread, reporting its progress while it runs and looking for
    a cancellation as often: the thread stops at its next checkpoint (Cancelled), and a
    request cancelled while it ran stops here, before anything is recorded."""
    with cancellable(progress.cancelled):  # the thread's context carries the Event
        running = asyncio.ensure_future(asyncio.to_thread(work))
    while True:
        done, _ = await asyncio.wait({running}, timeout=PROGRESS_EVERY_S)
        if done:
            await progress.flush(force=True)
            result = running.result()
            await progress.check_cancelled()
            return result
        await progress.flush()
        try:
            await progress.check_cancelled()
        except Cancelled:
            await asyncio.wait({running})  # the thread stops at its next checkpoint
            running.exception()  # (retrieved: it is the Cancelled raised here)
            raise


class Done(NamedTuple):
    """What a request's work ends with: a download, a created resource, a report."""

    result_url: str | None = None
    result_id: int | None = None
    message: str = ""


def upload_cleanup(
    container: Container, work: Path
) -> Callable[[requests.RequestRow], Awaitable[None]]:
    """After an import, whatever its outcome: its scratch directory and its upload go."""

    async def cleanup(row: requests.RequestRow) -> None:
        await asyncio.to_thread(shutil.rmtree, work, True)
        session = row.params.get("session")
        if session:
            async with container.pool.connection() as conn:
                await file_uploads.end(conn, str(session))
            await asyncio.to_thread(
                file_uploads.remove_files, container.settings.data_dir, str(session)
            )

    return cleanup


async def run_request(
    container: Container, rq_id: str, what: str,
    body: Callable[[requests.RequestRow], Awaitable[Done]],
    cleanup: Callable[[requests.RequestRow], Awaitable[None]],
) -> str:  # fmt: skip
    """The request's life: started -> finished (result_url) or failed (message)."""
    async with container.pool.connection() as conn:
        started = await requests.mark_started(conn, rq_id)
        row = await requests.get(conn, rq_id)
    if row is None:
        return "skipped"
    if not started:  # cancelled while queued, or already handled
        await cleanup(row)
        return "skipped"
    outcome = "failed"
    try:
        done = await body(row)
        async with container.pool.connection() as conn:
            await requests.finish(
                conn, rq_id, result_url=done.result_url, result_id=done.result_id,
                message=done.message,
            )  # fmt: skip
        outcome = "finished"
    except Cancelled:
        async with container.pool.connection() as conn:
            await requests.fail(conn, rq_id, requests.CANCELLED_MESSAGE)
    except (
        FormatError, sources.SourceMissing, registry.FormatNotFound,
        export_target.ExportTargetError,
    ) as exc:  # fmt: skip
        async with container.pool.connection() as conn:
            await requests.fail(conn, rq_id, str(exc))
    except DomainError as exc:  # an importer let through what the annotations refuse
        async with container.pool.connection() as conn:
            await requests.fail(conn, rq_id, f"The imported annotations were refused: {exc}")
    except Exception as exc:
        log.exception(f"{what} failed", rq_id=rq_id)
        message = str(exc) or type(exc).__name__
        async with container.pool.connection() as conn:
            await requests.fail(conn, rq_id, f"Could not {what}: {message}")
    finally:
        await cleanup(row)
    return outcome


# --- export ------------------------------------------------------------------------------


async def export_dataset(ctx: dict[str, Any], rq_id: str) -> str:
    container: Container = ctx["container"]
    data_dir = container.settings.data_dir
    work = scratch_dir(data_dir, rq_id)

    async def body(row: requests.RequestRow) -> Done:
        info = registry.exporter_for(str(row.operation.format))
        await asyncio.to_thread(pipeline.remove_expired_exports, data_dir)
        exporter = info.exporter
        assert exporter is not None
        # the read models hold at least what the request's version says (it may be reused)
        await container.waiter.wait(int(row.params.get("position") or 0), BACKGROUND_WAIT_S)
        target = pipeline.exports_dir(data_dir, rq_id) / str(row.params["filename"])
        progress = Progress(container, rq_id)
        save_images = bool(row.params.get("save_images"))
        out = work / "dataset"
        frames = None
        if save_images:  # a video task's frames are decoded for the archive
            cache = await asyncio.to_thread(
                chunk_cache.for_data_dir, data_dir, container.settings.media_cache_mb
            )
            frames = sources.VideoFrames(work / "frames", cache)
        op = row.operation
        async with container.pool.connection() as conn:
            if op.target == "project":  # one dataset over the tasks, a subset each (CVAT)
                assert op.project_id is not None
                project = await project_export.project_info(conn, op.project_id)
                found = await project_export.task_sources(conn, data_dir, op.project_id, frames)
            else:
                assert op.task_id is not None
                job_id = op.job_id if op.target == "job" else None
                source = await sources.task_source(conn, data_dir, op.task_id, job_id, frames)
        out.mkdir(parents=True, exist_ok=True)
        whole = project_export.project_exporter_for(info.display_name)
        run: Callable[[], None]
        if op.target == "project" and whole is not None:  # CVAT XML: one document
            run = functools.partial(whole, project, found, out, save_images)
        elif op.target == "project":  # one dataset with a subset per task subset
            run = functools.partial(
                project_export.export_as_dataset, exporter, project, found, out, save_images
            )
        else:
            run = functools.partial(pipeline.run_exporter, exporter, source, out, save_images)
        await in_thread(progress, run)
        progress.set(0.8)
        await in_thread(progress, lambda: pipeline.zip_directory(out, target))
        log.info("dataset exported", rq_id=rq_id, format=info.display_name, file=target.name)
        storage_id = row.params.get("cloud_storage_id")
        if storage_id is not None:  # the bucket keeps it; nothing stays here
            try:
                key = str(row.params.get("cloud_key") or target.name)
                await export_target.upload(container, int(storage_id), key, target)
            finally:
                await asyncio.to_thread(shutil.rmtree, target.parent, True)
            return Done()
        base = str(row.params["base_url"]).rstrip("/")
        return Done(f"{base}/api/requests/{rq_id}/download")

    async def cleanup(row: requests.RequestRow) -> None:
        await asyncio.to_thread(shutil.rmtree, work, True)
        async with container.pool.connection() as conn:
            fresh = await requests.get(conn, rq_id)
        if fresh is None or fresh.status != "finished":
            await asyncio.to_thread(shutil.rmtree, pipeline.exports_dir(data_dir, rq_id), True)

    return await run_request(container, rq_id, "export the dataset", body, cleanup)


# --- import ------------------------------------------------------------------------------


def import_context(params: dict[str, Any], subsets: bool = False) -> ImportContext:
    """The import's options from its request (label_map, on_error, conv_mask_to_poly);
    `subsets`: the importer tells which subset each frame's item is in."""
    return ImportContext(
        label_map=params.get("label_map") or {},
        skip_invalid=params.get("on_error") == "skip",
        masks_to_polygons=bool(params.get("conv_mask_to_poly", True)),
        subsets={} if subsets else None,
    )


def _named(message: str, filename: str) -> str:
    return message if message.startswith(filename) else f"{filename}: {message}"


def read_upload(
    importer: Importer, path: Path, target: ExportSource, filename: str, params: dict[str, Any],
    context: ImportContext,
) -> CvatAnnotations:  # fmt: skip
    """Run the importer; its FormatError names the uploaded file, whatever it read. What
    it could not place fails the import (listing all of it) unless on_error=skip. Masks
    become polygons unless the request said conv_mask_to_poly=false (CVAT's default)."""
    try:
        data = importer(path, dataclasses.replace(target, importing=context))
    except FormatError as exc:
        raise FormatError(_named(str(exc), filename)) from None
    failure = context.failure()
    if failure is not None and not context.skip_invalid:
        raise FormatError(_named(failure, filename))
    if context.masks_to_polygons:
        data = masks_to_polygons(data, {frame.number: frame for frame in target.frames})
    return data


def import_report(
    row: requests.RequestRow, context: ImportContext, data: CvatAnnotations
) -> dict[str, Any]:
    """What an import's events carry (with each job's own counts added) and its request
    reports: format, file, mode, the counts imported, skipped (on_error=skip) and dropped
    (by the label map)."""
    return {
        "format": row.operation.format, "file": row.params.get("filename"),
        "mode": row.params.get("import_mode") or "replace",
        "shapes": len(data.shapes), "tracks": len(data.tracks), "tags": len(data.tags),
        "skipped": context.problem_count, "dropped": context.dropped,
    }  # fmt: skip


def report_message(report: dict[str, Any], context: ImportContext, *more: str) -> str:
    """The finished request's message: what was imported, then what was not."""
    lines = [
        f"Imported {report['shapes']} shapes, {report['tracks']} tracks and "
        f"{report['tags']} tags from {report['file']}."
    ]
    if report["dropped"]:
        lines.append(f"{report['dropped']} annotations were dropped by the label map.")
    lines += more
    if context.problem_count:
        lines.append(f"Skipped {context.problem_count} that could not be imported:")
        lines += context.lines()
    return "\n".join(lines)


async def fetch_input(container: Container, row: requests.RequestRow, work: Path) -> Path:
    """The file to import: the upload, or the object fetched from the request's bucket."""
    storage_id = row.params.get("cloud_storage_id")
    if storage_id is None:
        return Path(str(row.params["file"]))
    key = str(row.params["cloud_key"])
    target = work / "cloud" / str(row.params["filename"])
    await export_target.download(container, int(storage_id), key, target, checkpoint)
    return target


async def import_annotations(ctx: dict[str, Any], rq_id: str) -> str:
    container: Container = ctx["container"]
    data_dir = container.settings.data_dir
    work = scratch_dir(data_dir, rq_id)

    async def body(row: requests.RequestRow) -> Done:
        op = row.operation
        info = registry.importer_for(str(op.format))
        assert op.task_id is not None
        job_id = op.job_id if op.target == "job" else None
        async with container.pool.connection() as conn:
            target = await sources.task_source(conn, data_dir, op.task_id, job_id)
        progress = Progress(container, rq_id)
        upload = await fetch_input(container, row, work)
        filename = str(row.params["filename"])
        limits = ArchiveLimits(max_unpacked_bytes=container.settings.max_upload_mb * 4 * 2**20)
        importer = info.importer
        assert importer is not None
        context = import_context(row.params)

        def read() -> CvatAnnotations:
            path = pipeline.unpack_upload(upload, filename, work, limits)
            progress.set(0.3)
            imported = read_upload(importer, path, target, filename, row.params, context)
            progress.set(0.6)
            return imported

        data = await in_thread(progress, read)
        report = import_report(row, context, data)
        metadata = EventMetadata(actor=row.owner_id, source="import", request_id=rq_id)
        outcomes = await replace_annotations(
            container, op.task_id, job_id, data, metadata,
            append=report["mode"] == "append", report=report,
        )  # fmt: skip
        position = max((o.position for o in outcomes), default=0)
        if position:
            # a client sees the import once finished; the events are appended: never fail
            await container.waiter.wait(position, BACKGROUND_WAIT_S)
        log.info("annotations imported", rq_id=rq_id, format=info.display_name, jobs=len(outcomes))
        return Done(message=report_message(report, context))

    cleanup = upload_cleanup(container, work)
    return await run_request(container, rq_id, "import the annotations", body, cleanup)
