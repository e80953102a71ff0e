"""What an export reads and an import maps onto: `ExportSource`s built from the read models
(task, jobs, labels, job_objects), the task's stored media (frames, original files) and the
merge of a task's jobs that GET /api/tasks/{id}/annotations serves.

`ExportSource.meta` carries what CVAT XML's <meta> shows, under CVAT's element names:
    id, name, size, mode, overlap, bugtracker, created, updated, subset, start_frame,
    stop_frame, frame_filter, segments ([{id, start, stop}]), owner ({username, email}),
    assignee ({username, email} | None), dumped, project_id, source (video file name),
    original_size ({width, height}, video), and for a job export: job ({id, start_frame,
    stop_frame, frames}).
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
from psycopg.rows import dict_row

from backend.domain.annotations import CvatAnnotations
from backend.domain.objects import LabeledImage, LabeledShape, LabeledTrack
from backend.formats.cancel import checkpoint
from backend.formats.model import ExportSource, FrameSpec
from backend.media import serving, video_serving
from backend.media.chunk_cache import ChunkCache
from backend.media.spec import frame_step
from backend.media.storage import StoredData, TaskStorage
from backend.services.labels import label_rows_for_task, label_set
from backend.services.task_annotations import JobContent, JobRange, merge


class SourceMissing(LookupError):
    """The task, job or project is gone, or a task has no data (no frames)."""


_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    "shape": msgspec.json.Decoder(LabeledShape),
    "track": msgspec.json.Decoder(LabeledTrack),
    "tag": msgspec.json.Decoder(LabeledImage),
}


async def _one(conn: Any, query: str, params: Sequence[Any]) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        row: dict[str, Any] | None = await cur.fetchone()
        return row


async def _all(conn: Any, query: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return list(await cur.fetchall())


async def person(conn: Any, user_id: int | None) -> dict[str, str] | None:
    if user_id is None:
        return None
    row = await _one(conn, "SELECT username, email FROM users WHERE id = %s", [user_id])
    return None if row is None else {"username": row["username"], "email": row["email"]}


async def task_jobs(conn: Any, task_id: int) -> list[dict[str, Any]]:
    """The task's annotation jobs (rows of the `jobs` read model) in frame order."""
    return await _all(
        conn,
        "SELECT id, start_frame, stop_frame, frames FROM jobs"
        " WHERE task_id = %s AND type = 'annotation' ORDER BY start_frame, id",
        [task_id],
    )


async def job_contents(conn: Any, jobs: Sequence[dict[str, Any]]) -> list[JobContent]:
    contents = {
        int(j["id"]): JobContent(job=JobRange(int(j["id"]), j["start_frame"], j["stop_frame"]))
        for j in jobs
    }
    if not contents:
        return []
    async with conn.cursor() as cur:
        await cur.execute(
            "SELECT job_id, kind, data::text FROM job_objects WHERE job_id = ANY(%s)",
            [list(contents)],
        )
        for job_id, kind, data in await cur.fetchall():
            getattr(contents[job_id], f"{kind}s").append(_DECODERS[kind].decode(data))
    return list(contents.values())


def _iso(value: datetime.datetime | None) -> str:
    return "" if value is None else value.isoformat()


def _frames(stored: StoredData, mode: str) -> list[FrameSpec]:
    frames = stored.spec.frames
    if mode == "interpolation":
        # a video: CVAT names a frame after its number in the video, frame_NNNNNN with
        # NNNNNN = start_frame + n * step (bindings.py, TaskData._init_frame_info)
        start, step = stored.spec.start_frame, frame_step(stored.spec.frame_filter)
        return [
            FrameSpec(n, f"frame_{start + n * step:06d}", f.width, f.height)
            for n, f in enumerate(frames)
        ]
    return [FrameSpec(n, f.name, f.width, f.height) for n, f in enumerate(frames)]


class VideoFrames:
    """Where a video task's frames are decoded for an export with images: each frame once,
    as the PNG that `type=frame&quality=original` serves, into a scratch directory."""

    def __init__(self, directory: Path, cache: ChunkCache) -> None:
        self.directory = directory
        self.cache = cache


def _image_path(
    storage: TaskStorage, stored: StoredData, video_frames: VideoFrames | None
) -> Callable[[int], Path] | None:
    files = stored.original_files
    if stored.spec.video is not None:
        if video_frames is None:
            return None
        where = video_frames.directory / str(storage.task_id)

        def decoded(frame: int) -> Path:
            target = where / f"frame_{frame:06d}.png"
            if not target.is_file():
                checkpoint()
                where.mkdir(parents=True, exist_ok=True)
                video_serving.write_frame(
                    storage, stored, frame, "original", target, video_frames.cache
                )
            return target

        return decoded
    if len(files) != len(stored.spec.frames):
        return None
    return lambda frame: storage.original_frame(files[frame])


async def task_source(
    conn: Any, data_dir: str | Path, task_id: int, job_id: int | None = None,
    video_frames: VideoFrames | None = None,
) -> ExportSource:  # fmt: skip
    """The task (or one of its jobs) as an exporter reads it. Annotations of a task are its
    jobs merged as GET /api/tasks/{id}/annotations serves them. A video task's frames have
    files (image_path) only when `video_frames` says where to decode them."""
    task = await _one(conn, "SELECT * FROM tasks WHERE id = %s", [task_id])
    if task is None:
        raise SourceMissing(f"task {task_id} does not exist")
    storage = TaskStorage(data_dir, task_id)
    stored = await asyncio.to_thread(storage.load)
    if stored is None:
        raise SourceMissing(f"task {task_id} has no data (no frames)")
    labels = label_set(await label_rows_for_task(conn, task_id)).top_level
    jobs = await task_jobs(conn, task_id)
    mode = stored.spec.mode
    frames = _frames(stored, mode)
    meta: dict[str, Any] = {
        "id": task_id, "name": task["name"], "size": stored.spec.size, "mode": mode,
        "overlap": task.get("overlap") or 0, "bugtracker": task.get("bug_tracker") or "",
        "created": _iso(task.get("created_at")), "updated": _iso(task.get("updated_at")),
        "subset": task.get("subset") or "", "start_frame": stored.spec.start_frame,
        "stop_frame": stored.spec.stop_frame, "frame_filter": stored.spec.frame_filter,
        "segments": [
            {"id": j["id"], "start": j["start_frame"], "stop": j["stop_frame"]} for j in jobs
        ],
        "owner": await person(conn, task.get("owner_id")),
        "assignee": await person(conn, task.get("assignee_id")),
        "dumped": datetime.datetime.now(datetime.UTC).isoformat(),
        "project_id": task.get("project_id"),
    }  # fmt: skip
    if stored.spec.video is not None:
        meta["source"] = stored.spec.video.name
        meta["original_size"] = {
            "width": stored.spec.video.width, "height": stored.spec.video.height,
        }  # fmt: skip
    if job_id is None:
        contents = await job_contents(conn, jobs)
        merged = merge(contents)
        annotations = CvatAnnotations(
            version=0, tags=merged.tags, shapes=merged.shapes, tracks=merged.tracks
        )
    else:
        job = next((j for j in jobs if int(j["id"]) == job_id), None)
        if job is None:
            raise SourceMissing(f"job {job_id} is not an annotation job of task {task_id}")
        members = serving.job_frames(job, stored.spec.size)
        keep = set(members)
        frames = [f for f in frames if f.number in keep]
        (content,) = await job_contents(conn, [job])
        annotations = CvatAnnotations(
            version=0, tags=content.tags, shapes=content.shapes, tracks=content.tracks
        )
        meta["job"] = {
            "id": job_id, "start_frame": job["start_frame"], "stop_frame": job["stop_frame"],
            "frames": members,
        }  # fmt: skip
    return ExportSource(
        task_id=task_id, task_name=str(task["name"]), job_id=job_id, mode=mode,
        dimension=stored.spec.dimension, frames=frames, labels=labels, annotations=annotations,
        meta=meta, image_path=_image_path(storage, stored, video_frames),
    )  # fmt: skip


async def project_task_ids(conn: Any, project_id: int) -> list[int]:
    row = await _one(conn, "SELECT id FROM projects WHERE id = %s", [project_id])
    if row is None:
        raise SourceMissing(f"project {project_id} does not exist")
    rows = await _all(conn, "SELECT id FROM tasks WHERE project_id = %s ORDER BY id", [project_id])
    return [int(r["id"]) for r in rows]


async def export_version(
    conn: Any, task_id: int | None, job_id: int | None, project_id: int | None
) -> tuple[str, int]:
    """What an export of the job (job_id), task or project (task_id None) is made of, as
    (a digest of each stream's last event position, the highest of them): the object's
    stream, its tasks' and jobs' streams and its project's (labels). Equal digests mean
    an equal export (CVAT reuses an export while the object is unchanged); a removed task
    changes the digest too."""
    if job_id is not None:
        streams = [f"job-{job_id}", f"task-{task_id}"]
    else:
        if task_id is not None:
            tasks = [task_id]
        else:
            assert project_id is not None
            tasks = await project_task_ids(conn, project_id)
        rows = await _all(
            conn,
            "SELECT id FROM jobs WHERE task_id = ANY(%s) ORDER BY id",
            [tasks],
        )
        streams = [f"task-{t}" for t in tasks] + [f"job-{r['id']}" for r in rows]
    if project_id is not None:
        streams.append(f"project-{project_id}")
    rows = await _all(
        conn,
        "SELECT s.stream, e.position FROM unnest(%s::text[]) AS s(stream),"
        " LATERAL (SELECT position FROM events WHERE stream_id = s.stream"
        " ORDER BY revision DESC LIMIT 1) e ORDER BY s.stream",
        [streams],
    )
    digest = hashlib.sha256(
        "\n".join(f"{r['stream']}@{r['position']}" for r in rows).encode()
    ).hexdigest()
    return digest, max((int(r["position"]) for r in rows), default=0)
