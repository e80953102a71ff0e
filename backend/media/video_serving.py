"""Serving a video task from its chunks (serving.py dispatches here): single frames, job
chunks that are not task chunks, and job previews. Everything is made from the task's
ORIGINAL chunks (each starts at a keyframe and is already upright, so a frame costs at
most one chunk's decoding) or, for compressed frames of use_zip_chunks tasks, copied out
of the JPEG zips. What is made here is kept by the chunk cache (chunk_cache.py): each
function writes the bytes to the cache's `target`."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from fractions import Fraction
from itertools import groupby
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from backend.media import images, video
from backend.media.images import MediaError
from backend.media.spec import TaskDataSpec
from backend.media.storage import Quality, StoredData, TaskStorage

FRAME_MIME = {"compressed": "image/jpeg", "original": "image/png"}
CHUNK_MIME = {"video": "video/mp4", "imageset": "application/zip"}


def frame_name(number: int, quality: Quality) -> str:
    """The cache name of a served frame."""
    return f"video-frame-{quality}-{number}." + ("jpeg" if quality == "compressed" else "png")


def write_frame(
    storage: TaskStorage, stored: StoredData, number: int, quality: Quality, target: Path
) -> None:
    """Frame `number`: JPEG at the task's image quality (compressed) or PNG (original)."""
    spec = stored.spec
    if quality == "compressed" and spec.compressed_chunk_type == "imageset":
        data = next(_zipped_frames(storage, spec, [number]))
    else:
        image = next(_decoded(storage, spec, [number]))
        data = (
            video.jpeg(image, spec.image_quality) if quality == "compressed" else video.png(image)
        )
    _write(target, data)


def write_preview(storage: TaskStorage, stored: StoredData, number: int, target: Path) -> None:
    image = next(_decoded(storage, stored.spec, [number]))
    _write(target, images.preview_jpeg(Image.fromarray(image[:, :, ::-1])))


def write_job_chunk(
    storage: TaskStorage, stored: StoredData, quality: Quality, members: Sequence[int],
    target: Path,
) -> None:  # fmt: skip
    """A chunk of the given task frames in the task's chunk type for `quality`: JPEG
    members copied from the task's zips, or an H.264 mp4 encoded from the decoded frames
    (as CVAT makes job chunks)."""
    spec = stored.spec
    if spec.chunk_type(quality) == "imageset":
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as zf:
            for index, data in enumerate(_zipped_frames(storage, spec, members)):
                zf.writestr(f"{index:06d}.jpeg", data)
        return
    assert spec.video is not None
    writer = video.Mp4Writer(
        target, quality=spec.image_quality if quality == "compressed" else video.ORIGINAL_QUALITY,
        fps=Fraction(spec.video.fps).limit_denominator(1001), width=spec.video.width,
        height=spec.video.height, compressed=quality == "compressed",
    )  # fmt: skip
    try:
        for frame in _decoded_frames(storage, spec, members):
            writer.add(frame, None)
        writer.close()
    except BaseException:
        writer.abort()
        raise


def _decoded_frames(
    storage: TaskStorage, spec: TaskDataSpec, members: Sequence[int]
) -> Iterator[Any]:
    """av.VideoFrames of the given task frames (ascending), from the original chunks."""
    size = spec.chunk_size
    for number, group in groupby(members, key=lambda f: f // size):
        path = storage.video_chunk("original", number)
        wanted = [f - number * size for f in group]
        got = 0
        for _, frame in video.chunk_frames(path, wanted):
            got += 1
            yield frame
        if got != len(wanted):
            raise MediaError(f"chunk {number} of the task is damaged: frames are missing")


def _decoded(
    storage: TaskStorage, spec: TaskDataSpec, members: Sequence[int]
) -> Iterator[npt.NDArray[np.uint8]]:
    """BGR frames at the video's size: an odd width or height was made even (scaled by a
    pixel) in re-encoded chunks, as H.264 in 4:2:0 needs; frames are served as in meta."""
    assert spec.video is not None
    size = (spec.video.width, spec.video.height)
    for frame in _decoded_frames(storage, spec, members):
        image: npt.NDArray[np.uint8] = frame.to_ndarray(format="bgr24")
        if (image.shape[1], image.shape[0]) != size:
            image = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
        yield image


def _zipped_frames(
    storage: TaskStorage, spec: TaskDataSpec, members: Sequence[int]
) -> Iterator[bytes]:
    size = spec.chunk_size
    for number, group in groupby(members, key=lambda f: f // size):
        with zipfile.ZipFile(storage.chunk("compressed", number)) as zf:
            infos = zf.infolist()
            for f in group:
                yield zf.read(infos[f - number * size])


def _write(target: Path, data: bytes) -> None:
    target.write_bytes(data)  # `target` is the cache's temporary file
