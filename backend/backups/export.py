"""Writing a task or project backup (see the package docstring for the layout).

Everything the archive needs is collected first (read models, the job aggregates, the
stored data's spec and files, and with history the job streams, spooled to files), then
one worker thread writes the zip; the caller publishes the file only when it is complete.
"""

from __future__ import annotations

import asyncio
import posixpath
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from psycopg.rows import dict_row

from backend.backups import annotations as backup_annotations
from backend.backups.layout import (
    ANNOTATIONS_FILE,
    DATA_DIR,
    HISTORY_DIR,
    PROJECT_FILE,
    TASK_FILE,
    VERSION,
    BackupError,
    job_out,
    label_out,
)
from backend.domain.labels import LabelSpec
from backend.media.related import RELATED_DIR, context_dir_name
from backend.media.storage import TaskStorage
from backend.services import tasks as task_service
from backend.services.labels import label_rows_for_task, label_set

if TYPE_CHECKING:
    from backend.bootstrap import Container

_encoder = msgspec.json.Encoder()
_HISTORY_BATCH = 1000
Progress = Callable[[float], None]


def _nothing(value: float) -> None:
    pass


def _nothing_to_check() -> None:
    pass


WORK_DIR = ".work"  # beside the archive being written: spooled history, context images
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_\-. ]+")


@dataclass
class TaskParts:
    manifest: dict[str, Any]
    annotations: list[dict[str, Any]]
    media: list[tuple[str, Path]] = field(default_factory=list)  # (name under data/, file)
    history: list[tuple[str, Path]] = field(default_factory=list)  # (name, spooled file)


def safe_file_name(name: str) -> str:
    """`name` with only the characters clients accept from Content-Disposition
    ([A-Za-z0-9_-. ]), not starting with a dot; "" when nothing is left."""
    return _SAFE_NAME.sub("_", name).strip(" .")[:200]


def download_name(kind: str, name: str, stamp: str) -> str:
    """CVAT's `{kind}_{name}_backup_{time}.zip`, reduced to what clients accept in
    Content-Disposition ([A-Za-z0-9_-. ], not starting with a dot)."""
    safe = _SAFE_NAME.sub("_", f"{kind}_{name}_backup_{stamp}").strip(" .") or kind
    return f"{safe[:200]}.zip".lower()


async def _jobs(conn: Any, task_id: int) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id, start_frame, stop_frame, stage, state, type FROM jobs"
            " WHERE task_id = %s ORDER BY start_frame, id",
            [task_id],
        )
        rows: list[dict[str, Any]] = await cur.fetchall()
    return rows


def _status(jobs: list[dict[str, Any]]) -> str:
    stages = {j["stage"] for j in jobs}
    if not jobs or "annotation" in stages:
        return "annotation"
    return "validation" if "validation" in stages else "completed"


Media = list[tuple[str, Path]]


def _context_folder(frame: str, dimension: str) -> str:
    """Where CVAT's layouts (backend/media/related.py) look for a frame's context images:
    2D `d/x.png` -> `d/related_images/x_png/`; 3D `d/x.pcd` -> `d/../related_images/x_pcd/`."""
    own = context_dir_name(posixpath.basename(frame))
    folder = posixpath.dirname(frame)
    if dimension == "3d":
        if not folder:
            raise BackupError(
                f"{frame}: context images of a point cloud outside a directory cannot be "
                "backed up yet."
            )
        return posixpath.join(posixpath.dirname(folder), RELATED_DIR, own)
    return posixpath.join(folder, RELATED_DIR, own)


def _context_images(
    storage: TaskStorage, number: int, frame: str, dimension: str, work: Path
) -> Media:
    """Frame `number`'s context images in CVAT's layout, from the stored zip (JPEGs,
    named `name.ext.jpg`: the name it had is given back, the content stays JPEG)."""
    folder = _context_folder(frame, dimension)
    out: Media = []
    used: set[str] = set()
    with zipfile.ZipFile(storage.context_images(number)) as zf:
        for index, member in enumerate(zf.namelist()):
            name = posixpath.basename(member)
            name = name[: -len(".jpg")] if name.lower().endswith(".jpg") else name
            if not name or name in used:
                name = f"{index}_{name or 'context.jpg'}"
            used.add(name)
            target = work / f"context-{storage.task_id}-{number}-{index}"
            with zf.open(member) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            out.append((posixpath.join(folder, name), target))
    return out


def _data_section(storage: TaskStorage, work: Path) -> tuple[dict[str, Any], dict[str, Any], Media]:
    """(task.json `data`, the `vellum` section, media files) from the stored data set."""
    stored = storage.load()
    if stored is None:
        raise BackupError("The task has no data: there is nothing to back up.")
    spec = stored.spec
    data: dict[str, Any] = {
        "chunk_size": spec.chunk_size, "image_quality": spec.image_quality,
        "start_frame": spec.start_frame, "stop_frame": spec.stop_frame,
        "chunk_type": spec.compressed_chunk_type, "storage_method": spec.storage_method,
        "storage": "local", "sorting_method": spec.sorting_method, "deleted_frames": [],
    }  # fmt: skip
    if spec.frame_filter:
        data["frame_filter"] = spec.frame_filter
    vellum: dict[str, Any] = {"use_cache": spec.use_cache, "use_zip_chunks": spec.use_zip_chunks}
    media: list[tuple[str, Path]] = []
    if spec.video is not None:
        source = storage.source_video()
        if not source.is_file():
            raise BackupError(
                "The task's original video is not kept (its chunks were made when it was "
                "created, without use_cache), so it cannot be backed up."
            )
        media.append((spec.video.name, source))  # the whole file: start/stop/step re-apply
    else:
        for number, (frame, original) in enumerate(
            zip(spec.frames, stored.original_files, strict=True)
        ):
            media.append((frame.name, storage.original_frame(original)))
            if frame.related_files:
                media += _context_images(storage, number, frame.name, spec.dimension, work)
        # data/ holds exactly the frames shown, in order (the package docstring says why).
        vellum["frames"] = [f.name for f in spec.frames]
    if storage.manifest().is_file():
        media.append(("manifest.jsonl", storage.manifest()))
    return data, vellum, media


async def _history(container: Container, job_id: int, target: Path) -> None:
    """Job `job_id`'s stream as JSON Lines: the original entries a restore keeps."""
    query = (
        "SELECT e.revision, e.type, e.version, e.data, e.metadata::text AS metadata,"
        " e.recorded_at, u.username FROM events e"
        " LEFT JOIN users u ON u.id = (e.metadata->>'actor')::bigint"
        " WHERE e.stream_id = %s AND e.revision > %s ORDER BY e.revision LIMIT %s"
    )
    after = -1
    with target.open("wb") as out:
        while True:
            async with container.pool.connection() as conn:
                async with conn.cursor(row_factory=dict_row) as cur:
                    await cur.execute(query, [f"job-{job_id}", after, _HISTORY_BATCH])
                    rows = await cur.fetchall()
            for row in rows:
                meta = msgspec.json.decode(row["metadata"])
                actor = meta.get("actor")
                entry = {
                    "revision": row["revision"], "type": row["type"],
                    "version": row["version"], "data": msgspec.Raw(bytes(row["data"])),
                    "actor": None if actor is None
                    else {"id": actor, "username": row["username"]},
                    "source": meta.get("source", "api"), "op_id": meta.get("op_id"),
                    "request_id": meta.get("request_id"),
                    "recorded_at": row["recorded_at"].isoformat().replace("+00:00", "Z"),
                }  # fmt: skip
                for key in ("undo_of", "redo_of"):
                    if key in meta:
                        entry[key] = meta[key]
                out.write(_encoder.encode(entry) + b"\n")
            if len(rows) < _HISTORY_BATCH:
                return
            after = int(rows[-1]["revision"])


async def collect_task(
    container: Container, task_id: int, *, with_history: bool, work: Path,
    labels: list[LabelSpec] | None = None,
) -> TaskParts:  # fmt: skip
    """What task `task_id`'s backup holds; `labels` are the project's in a project
    backup (a task inside a project writes its project's labels, as CVAT does)."""
    async with container.pool.connection() as conn:
        task = await task_service.get_task(conn, task_id)
        if task is None:
            raise BackupError(f"Task {task_id} does not exist any more.")
        jobs = await _jobs(conn, task_id)
        if labels is None:
            labels = label_set(await label_rows_for_task(conn, task_id)).top_level
    storage = TaskStorage(container.settings.data_dir, task_id)
    data, vellum, media = await asyncio.to_thread(_data_section, storage, work)
    vellum["with_history"] = with_history
    annotation_jobs = [j for j in jobs if (j.get("type") or "annotation") == "annotation"]
    manifest = {
        "name": task["name"], "bug_tracker": task["bug_tracker"], "status": _status(jobs),
        "subset": task["subset"], "labels": [label_out(label) for label in labels],
        "version": VERSION, "data": data, "jobs": [job_out(j) for j in annotation_jobs],
        "segment_size": task["segment_size"], "overlap": task["overlap"],
        "mode": task["mode"], "dimension": (task["data"] or {}).get("dimension", "2d"),
        "vellum": vellum,
    }  # fmt: skip
    parts = TaskParts(manifest=manifest, annotations=[], media=media)
    for index, job in enumerate(annotation_jobs):
        state = await container.annotations.load(int(job["id"]))
        parts.annotations.append(backup_annotations.to_backup(state.to_cvat(), labels))
        if with_history:
            target = work / f"history-{task_id}-{index}.jsonl"
            await _history(container, int(job["id"]), target)
            parts.history.append((f"job_{index}.jsonl", target))
    return parts


def write_task(
    zf: zipfile.ZipFile, parts: TaskParts, prefix: str = "", *,
    progress: Progress = _nothing, check: Callable[[], None] = _nothing_to_check,
) -> None:  # fmt: skip
    """The task's files into `zf` under `prefix` ("" or "task_N/"); `check` (between
    files) raises to cancel."""
    for index, (name, path) in enumerate(parts.media):
        zf.write(path, f"{prefix}{DATA_DIR}/{name}", compress_type=zipfile.ZIP_STORED)
        if index % 16 == 15:
            progress(index / len(parts.media))
            check()
    for name, path in parts.history:
        zf.write(path, f"{prefix}{HISTORY_DIR}/{name}", compress_type=zipfile.ZIP_DEFLATED)
    zf.writestr(f"{prefix}{TASK_FILE}", _encoder.encode(parts.manifest), zipfile.ZIP_DEFLATED)
    zf.writestr(
        f"{prefix}{ANNOTATIONS_FILE}", _encoder.encode(parts.annotations), zipfile.ZIP_DEFLATED
    )


async def task_backup(
    container: Container, task_id: int, target: Path, *, with_history: bool,
    progress: Progress = _nothing, check: Callable[[], None] = _nothing_to_check,
) -> None:  # fmt: skip
    work = target.parent / WORK_DIR
    work.mkdir(exist_ok=True)
    parts = await collect_task(container, task_id, with_history=with_history, work=work)
    progress(0.1)

    def write() -> None:
        with zipfile.ZipFile(target, "w") as zf:
            write_task(zf, parts, progress=lambda p: progress(0.1 + 0.9 * p), check=check)

    await asyncio.to_thread(write)


async def project_backup(
    container: Container, project_id: int, target: Path, *, with_history: bool,
    progress: Progress = _nothing, check: Callable[[], None] = _nothing_to_check,
) -> None:  # fmt: skip
    async with container.pool.connection() as conn:
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute("SELECT * FROM projects WHERE id = %s", [project_id])
            project = await cur.fetchone()
            if project is None:
                raise BackupError(f"Project {project_id} does not exist any more.")
            await cur.execute(
                "SELECT * FROM labels WHERE project_id = %s ORDER BY position", [project_id]
            )
            labels = label_set(await cur.fetchall()).top_level
            await cur.execute(
                "SELECT id FROM tasks WHERE project_id = %s ORDER BY id", [project_id]
            )
            task_ids = [int(r["id"]) for r in await cur.fetchall()]
    manifest = {
        "name": project["name"], "bug_tracker": project["bug_tracker"],
        "status": "annotation", "labels": [label_out(label) for label in labels],
        "version": VERSION,
    }  # fmt: skip
    work = target.parent / WORK_DIR
    work.mkdir(exist_ok=True)

    def start() -> zipfile.ZipFile:
        return zipfile.ZipFile(target, "w")

    zf = await asyncio.to_thread(start)
    try:
        for index, task_id in enumerate(task_ids):
            parts = await collect_task(
                container, task_id, with_history=with_history, work=work, labels=labels
            )
            await asyncio.to_thread(
                lambda: write_task(zf, parts, f"task_{index}/", check=check)  # noqa: B023
            )
            progress((index + 1) / (len(task_ids) + 1))
        await asyncio.to_thread(
            zf.writestr, PROJECT_FILE, _encoder.encode(manifest), zipfile.ZIP_DEFLATED
        )
    finally:
        await asyncio.to_thread(zf.close)
