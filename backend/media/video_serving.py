"""Serving a video task from its chunks (serving.py dispatches here): task chunks of a
use_cache task, single frames, job chunks that are not task chunks, and job previews.
Frames and job chunks are made from the task's ORIGINAL chunks (each starts at a
keyframe and is already upright, so a frame costs at most one chunk's decoding) or, for
compressed frames of use_zip_chunks tasks, copied out of the JPEG zips. What is made
here is kept by the chunk cache (chunk_cache.py): each make function writes the bytes to
the cache's `target`; callers run in a worker thread, never on the event loop.

A use_cache task (VideoMeta.on_the_fly) has no chunk files: `task_chunk` cuts chunk N
from the kept source video on request, with the plan and writers of a prebuilt task
(video.plan_chunks, video.cut on that one plan, starting with a seek to the clean
keyframe at or before it), so its bytes are those a prebuilt task serves, and frames
decoded from it are too."""

from __future__ import annotations

import contextlib
import zipfile
from collections.abc import Iterator, Sequence
from fractions import Fraction
from itertools import groupby
from pathlib import Path
from typing import Any, BinaryIO

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from backend.media import images, video
from backend.media.chunk_cache import ChunkCache, task_key
from backend.media.images import MediaError
from backend.media.spec import TaskDataSpec, frame_step
from backend.media.storage import Quality, StoredData, TaskStorage

FRAME_MIME = {"compressed": "image/jpeg", "original": "image/png"}
CHUNK_MIME = {"video": "video/mp4", "imageset": "application/zip"}

Chunk = Path | BinaryIO  # a chunk file of the data set, or an open file from the cache


def task_chunk(
    storage: TaskStorage, stored: StoredData, quality: Quality, number: int, cache: ChunkCache
) -> Chunk:
    """Task chunk `number`: the file of a prebuilt task, else cut on request and cached."""
    spec = stored.spec
    if spec.video is None or not spec.video.on_the_fly:
        return storage.task_chunk(spec, quality, number)
    key = task_key(storage.task_id, stored.chunks_updated_date, "video-chunk", quality, number)
    return cache.get(key, lambda target: write_task_chunk(storage, stored, quality, number, target))


def write_task_chunk(
    storage: TaskStorage, stored: StoredData, quality: Quality, number: int, target: Path
) -> None:
    """Chunk `number` of a use_cache task, cut from the kept source video: the plan the
    prebuilt task would have, one quality, the same writers."""
    spec = stored.spec
    probe = video.load_probe(storage.video_probe())
    frames = range(spec.start_frame, spec.stop_frame + 1, frame_step(spec.frame_filter))
    plan = video.plan_chunks(probe, frames, spec.chunk_size)[number]
    out = video.CutOutput(
        original=(lambda _: target) if quality == "original" else None,
        compressed=(lambda _: target) if quality == "compressed" else None,
        compressed_kind=spec.compressed_chunk_type, quality=spec.image_quality,
    )  # fmt: skip
    video.cut(storage.source_video(), probe, [plan], out, progress=_ignore, check=_nothing)


def _ignore(_: float) -> None:
    pass


def _nothing() -> None:
    pass


@contextlib.contextmanager
def _opened(chunk: Chunk) -> Iterator[Chunk]:
    if isinstance(chunk, Path):
        yield chunk
    else:
        with chunk:
            yield chunk


def frame_name(number: int, quality: Quality) -> str:
    """The cache name of a served frame."""
    return f"video-frame-{quality}-{number}." + ("jpeg" if quality == "compressed" else "png")


def write_frame(
    storage: TaskStorage, stored: StoredData, number: int, quality: Quality, target: Path,
    cache: ChunkCache,
) -> None:  # fmt: skip
    """Frame `number`: JPEG at the task's image quality (compressed) or PNG (original)."""
    spec = stored.spec
    if quality == "compressed" and spec.compressed_chunk_type == "imageset":
        data = next(_zipped_frames(storage, stored, [number], cache))
    else:
        image = next(_decoded(storage, stored, [number], cache))
        data = (
            video.jpeg(image, spec.image_quality) if quality == "compressed" else video.png(image)
        )
    _write(target, data)


def write_preview(
    storage: TaskStorage, stored: StoredData, number: int, target: Path, cache: ChunkCache
) -> None:
    image = next(_decoded(storage, stored, [number], cache))
    _write(target, images.preview_jpeg(Image.fromarray(image[:, :, ::-1])))


def write_job_chunk(
    storage: TaskStorage, stored: StoredData, quality: Quality, members: Sequence[int],
    target: Path, cache: ChunkCache,
) -> None:  # fmt: skip
    """A chunk of the given task frames in the task's chunk type for `quality`: JPEG
    members copied from the task's zips, or an H.264 mp4 encoded from the decoded frames
    (as CVAT makes job chunks)."""
    spec = stored.spec
    if spec.chunk_type(quality) == "imageset":
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as zf:
            for index, data in enumerate(_zipped_frames(storage, stored, members, cache)):
                zf.writestr(images.zip_member(f"{index:06d}.jpeg"), data)
        return
    assert spec.video is not None
    writer = video.Mp4Writer(
        target, quality=spec.image_quality if quality == "compressed" else video.ORIGINAL_QUALITY,
        fps=Fraction(spec.video.fps).limit_denominator(1001), width=spec.video.width,
        height=spec.video.height, compressed=quality == "compressed",
    )  # fmt: skip
    try:
        for frame in _decoded_frames(storage, stored, members, cache):
            writer.add(frame, None)
        writer.close()
    except BaseException:
        writer.abort()
        raise


def _decoded_frames(
    storage: TaskStorage, stored: StoredData, members: Sequence[int], cache: ChunkCache
) -> Iterator[Any]:
    """av.VideoFrames of the given task frames (ascending), from the original chunks."""
    size = stored.spec.chunk_size
    for number, group in groupby(members, key=lambda f: f // size):
        wanted = [f - number * size for f in group]
        got = 0
        with _opened(task_chunk(storage, stored, "original", number, cache)) as chunk:
            for _, frame in video.chunk_frames(chunk, wanted):
                got += 1
                yield frame
        if got != len(wanted):
            raise MediaError(f"chunk {number} of the task is damaged: frames are missing")


def _decoded(
    storage: TaskStorage, stored: StoredData, members: Sequence[int], cache: ChunkCache
) -> Iterator[npt.NDArray[np.uint8]]:
    """BGR frames at the video's size: an odd width or height was made even (scaled by a
    pixel) in re-encoded chunks, as H.264 in 4:2:0 needs; frames are served as in meta."""
    spec: TaskDataSpec = stored.spec
    assert spec.video is not None
    size = (spec.video.width, spec.video.height)
    for frame in _decoded_frames(storage, stored, members, cache):
        image: npt.NDArray[np.uint8] = frame.to_ndarray(format="bgr24")
        if (image.shape[1], image.shape[0]) != size:
            image = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
        yield image


def _zipped_frames(
    storage: TaskStorage, stored: StoredData, members: Sequence[int], cache: ChunkCache
) -> Iterator[bytes]:
    size = stored.spec.chunk_size
    for number, group in groupby(members, key=lambda f: f // size):
        chunk = task_chunk(storage, stored, "compressed", number, cache)
        with _opened(chunk) as opened, zipfile.ZipFile(opened) as zf:
            infos = zf.infolist()
            for f in group:
                yield zf.read(infos[f - number * size])


def _write(target: Path, data: bytes) -> None:
    target.write_bytes(data)  # `target` is the cache's temporary file
