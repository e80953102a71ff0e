"""Reading a published data set: frame files, task and job chunks, previews, data meta.
Job chunks, job previews and every chunk of a `use_cache` task are made on request and
kept in the server's one bounded chunk cache (chunk_cache.py); what the cache hands out
is an open file, which the API streams (`Body`)."""

from __future__ import annotations

import hashlib
import math
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from backend.media import images, video_serving
from backend.media.build import frame_file, write_chunk, write_jpeg_chunk
from backend.media.chunk_cache import ChunkCache, task_key
from backend.media.images import mime_of
from backend.media.pointcloud import PCD_MIME
from backend.media.storage import Quality, StoredData, TaskStorage

# What is served: a file of the data set, an open file from the chunk cache, or bytes.
Body = Path | BinaryIO | bytes


class FrameMeta(msgspec.Struct, frozen=True):
    name: str
    width: int
    height: int
    related_files: int = 0


class DataMetaRead(msgspec.Struct, kw_only=True):
    """CVAT's DataMetaRead (task) / JobDataMetaRead (job)."""

    chunks_updated_date: str
    image_quality: int
    frames: list[FrameMeta] | None
    deleted_frames: list[int]
    chunk_size: int | None
    size: int
    start_frame: int
    stop_frame: int
    frame_filter: str
    included_frames: list[int] | None = None
    storage_method: str = "file_system"
    storage: str = "local"
    chunks_type: str = "imageset"  # not CVAT's name; harmless extra key
    sorting_method: str = "lexicographical"


class NotServable(Exception):
    """A request outside the data set (bad frame or chunk number): a 400 with this text."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def task_meta(stored: StoredData) -> DataMetaRead:
    spec = stored.spec
    frames = [FrameMeta(f.name, f.width, f.height, f.related_files) for f in spec.frames]
    if spec.video is not None:  # CVAT: a video task's `frames` is the video, once
        frames = [FrameMeta(spec.video.name, spec.video.width, spec.video.height)]
    return DataMetaRead(
        chunks_updated_date=stored.chunks_updated_date, image_quality=spec.image_quality,
        frames=frames,
        deleted_frames=[], chunk_size=spec.chunk_size, size=spec.size,
        start_frame=spec.start_frame, stop_frame=spec.stop_frame,
        frame_filter=spec.frame_filter, storage_method=spec.storage_method,
        sorting_method=spec.sorting_method,
    )  # fmt: skip


def job_frames(job: dict[str, Any], size: int) -> list[int]:
    """The task frame numbers of a job: its explicit frame list, else its range."""
    explicit = job.get("frames")
    if isinstance(explicit, list) and explicit:
        return sorted(int(f) for f in explicit if 0 <= int(f) < size)
    start, stop = int(job["start_frame"]), int(job["stop_frame"])
    return list(range(max(0, start), min(stop, size - 1) + 1))


def job_meta(stored: StoredData, job: dict[str, Any]) -> DataMetaRead:
    meta = task_meta(stored)
    frames = job_frames(job, stored.spec.size)
    all_frames = meta.frames or []
    first = frames[0] if frames else 0
    last = frames[-1] if frames else -1
    # Like CVAT, a job's `frames` spans its range; included_frames says which belong to it.
    if stored.spec.video is None:
        meta.frames = all_frames[first : last + 1]
    meta.size = len(frames)
    meta.start_frame = first
    meta.stop_frame = last
    contiguous = frames == list(range(first, last + 1))
    meta.included_frames = None if contiguous else frames
    return meta


def frame(
    storage: TaskStorage, stored: StoredData, number: int, quality: Quality,
    cache: ChunkCache | None = None,
) -> tuple[Body, str]:  # fmt: skip
    size = stored.spec.size
    if not 0 <= number < size:
        raise NotServable(
            "number",
            f"Invalid frame '{number}'. The frame number should be in the [0, {size}] range",
        )
    if stored.spec.dimension == "3d":  # both qualities are the PCD, as in CVAT
        return storage.original_frame(stored.original_files[number]), PCD_MIME
    if stored.spec.video is not None:  # decoded from the chunks once, then cached
        assert cache is not None
        key = task_key(storage.task_id, stored.chunks_updated_date, "frame", quality, number)
        return cache.get(
            key,
            lambda target: video_serving.write_frame(
                storage, stored, number, quality, target, cache
            ),
        ), video_serving.FRAME_MIME[quality]
    if quality == "original":
        path = storage.original_frame(stored.original_files[number])
        return path, mime_of(stored.spec.frames[number].name)
    if stored.spec.use_cache:  # compressed frames exist only inside chunks made on request
        assert cache is not None
        chunk_size = stored.spec.chunk_size
        first = number - number % chunk_size
        members = list(range(first, min(size, first + chunk_size)))
        with cached_chunk(cache, storage, stored, "compressed", members) as f:
            with zipfile.ZipFile(f) as zf:
                return zf.read(zf.infolist()[number - first]), "image/jpeg"
    return storage.compressed_frame(number), "image/jpeg"


def context_images(storage: TaskStorage, stored: StoredData, number: int) -> Path | None:
    """The zip of frame `number`'s context images (CVAT's `type=context_image`), or None
    when the frame has none."""
    size = stored.spec.size
    if not 0 <= number < size:
        raise NotServable(
            "number",
            f"Invalid frame '{number}'. The frame number should be in the [0, {size}] range",
        )
    if not stored.spec.frames[number].related_files:
        return None
    return storage.context_images(number)


def chunk_count(total: int, chunk_size: int) -> int:
    return math.ceil(total / chunk_size)


def task_chunk(
    storage: TaskStorage, stored: StoredData, number: int, quality: Quality,
    cache: ChunkCache | None = None,
) -> Path | BinaryIO:  # fmt: skip
    last = chunk_count(stored.spec.size, stored.spec.chunk_size) - 1
    if not 0 <= number <= last:
        raise NotServable(
            "number",
            f"Invalid chunk number '{number}'. The chunk number should be in the [0, {last}] range",
        )
    if stored.spec.video is not None:  # prebuilt, or cut from the video on request
        assert cache is not None
        return video_serving.task_chunk(storage, stored, quality, number, cache)
    if stored.spec.use_cache:
        assert cache is not None
        chunk_size = stored.spec.chunk_size
        members = range(number * chunk_size, min(stored.spec.size, (number + 1) * chunk_size))
        return cached_chunk(cache, storage, stored, quality, list(members))
    return storage.task_chunk(stored.spec, quality, number)


def job_chunk(
    storage: TaskStorage, stored: StoredData, job: dict[str, Any], quality: Quality,
    *, number: int | None = None, index: int | None = None, cache: ChunkCache,
) -> Path | BinaryIO:  # fmt: skip
    """`index`: the job's own chunks (its frames, chunk_size at a time); `number`: the
    task's chunk limited to the job's frames (CVAT's backward-compatible parameter)."""
    chunk_size = stored.spec.chunk_size
    size = stored.spec.size
    frames = job_frames(job, size)
    if index is not None:
        last = chunk_count(len(frames), chunk_size) - 1
        if not 0 <= index <= last:
            raise NotServable(
                "index",
                f"Invalid chunk number '{index}'. The chunk number should be in the "
                f"[0, {last}] range",
            )
        members = frames[index * chunk_size : (index + 1) * chunk_size]
    else:
        assert number is not None
        first = frames[0] // chunk_size if frames else 0
        last = frames[-1] // chunk_size if frames else -1
        if not first <= number <= last:
            raise NotServable(
                "number",
                f"Invalid chunk number '{number}'. The chunk number should be in the "
                f"[{first}, {last}] range",
            )
        span = range(number * chunk_size, min(size, (number + 1) * chunk_size))
        members = [f for f in frames if f in span]
    # A job chunk that is exactly a prebuilt task chunk is served from the task's file
    # (a video task's chunk, prebuilt or cut on request: video_serving.task_chunk).
    task_number = members[0] // chunk_size
    prebuilt = not stored.spec.use_cache or stored.spec.video is not None
    if prebuilt and members == list(
        range(task_number * chunk_size, min(size, (task_number + 1) * chunk_size))
    ):
        if stored.spec.video is not None:
            return video_serving.task_chunk(storage, stored, quality, task_number, cache)
        return storage.task_chunk(stored.spec, quality, task_number)
    return cached_chunk(cache, storage, stored, quality, members)


def cached_chunk(
    cache: ChunkCache, storage: TaskStorage, stored: StoredData, quality: Quality,
    members: Sequence[int],
) -> BinaryIO:  # fmt: skip
    """The imageset chunk of these task frames from the cache, made on a miss. Keyed by
    the frames, not by who asks: a job chunk equal to a task chunk is the same entry."""
    key = task_key(storage.task_id, stored.chunks_updated_date, "chunk", quality,
                   _frames_key(members))  # fmt: skip
    return cache.get(key, lambda target: write_frames_chunk(storage, stored, quality, members,
                                                            target, cache))  # fmt: skip


def _frames_key(members: Sequence[int]) -> str:
    if list(members) == list(range(members[0], members[-1] + 1)):
        return f"{members[0]}-{members[-1]}"
    return hashlib.sha256(",".join(map(str, members)).encode()).hexdigest()


def write_frames_chunk(
    storage: TaskStorage, stored: StoredData, quality: Quality, members: Sequence[int],
    target: Path, cache: ChunkCache,
) -> None:  # fmt: skip
    if stored.spec.video is not None:  # mp4 or JPEG zip, from the task's chunks
        video_serving.write_job_chunk(storage, stored, quality, members, target, cache)
        return
    if stored.spec.dimension == "3d":
        quality = "original"  # 3D chunks of both qualities are zips of the PCDs
    if quality == "compressed" and stored.spec.use_cache:  # no compressed frame files
        sources = [
            (storage.original_frame(stored.original_files[f]), stored.spec.frames[f].name)
            for f in members
        ]
        write_jpeg_chunk(target, sources, stored.spec.image_quality)
        return
    write_chunk(target, [frame_file(storage, quality, f, stored.original_files) for f in members])


def job_preview(
    storage: TaskStorage, stored: StoredData, job: dict[str, Any], cache: ChunkCache
) -> Path | BinaryIO:
    frames = job_frames(job, stored.spec.size)
    first = frames[0] if frames else 0
    if first == 0 or stored.spec.dimension == "3d":  # 3D: one placeholder, as CVAT's
        return storage.preview()

    def make(target: Path) -> None:
        if stored.spec.video is not None:
            video_serving.write_preview(storage, stored, first, target, cache)
            return
        original = storage.original_frame(stored.original_files[first])
        decoded = images.decode(original, stored.spec.frames[first].name)
        target.write_bytes(images.preview_jpeg(decoded.image))
        decoded.image.close()

    return cache.get(task_key(storage.task_id, stored.chunks_updated_date, "preview", first), make)


def file_size(path: Path) -> int:
    return os.stat(path).st_size
