"""Building a task's data set from the uploaded files (runs in a worker thread): unpack,
sort, filter, decode every image, write compressed frames, chunks, the preview and the
meta file. Everything goes into a build directory that is published only when complete."""

from __future__ import annotations

import math
import os
import shutil
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from backend.media import archive, images
from backend.media.images import MediaError
from backend.media.sorting import SortingError, sort_names
from backend.media.spec import DataParams, FrameInfo, TaskDataSpec, frame_step
from backend.media.storage import QUALITIES, StoredData, TaskStorage, write_meta

Progress = Callable[[float], None]


class Cancelled(Exception):
    pass


@dataclass(frozen=True)
class Received:
    """One uploaded file: its client name and where it is on disk."""

    name: str
    path: Path
    kind: images.FileKind


@dataclass
class MediaSet:
    """The input files sorted by what they are. A task holds images, or one video, or
    point clouds; manifests and context (related) images travel beside them."""

    images: list[tuple[str, Path]] = field(default_factory=list)
    videos: list[tuple[str, Path]] = field(default_factory=list)
    pointclouds: list[tuple[str, Path]] = field(default_factory=list)
    manifests: list[tuple[str, Path]] = field(default_factory=list)
    # frame name (as in `images`/`pointclouds`) -> its context images (name, file)
    related: dict[str, list[tuple[str, Path]]] = field(default_factory=dict)


def classify(sources: list[tuple[str, Path]]) -> MediaSet:
    """Every source is an image today (archives hold images only); the video, point cloud,
    manifest and context-image branches sort their files here."""
    media = MediaSet()
    media.images.extend(sources)
    return media


def collect_sources(
    received: Sequence[Received], work: Path, limits: archive.ArchiveLimits
) -> list[tuple[str, Path]]:
    """(frame name, file) for every image, archives unpacked in place of themselves."""
    sources: list[tuple[str, Path]] = []
    for index, item in enumerate(received):
        if item.kind == "archive":
            sources.extend(
                archive.extract(item.path, item.name, work / "extracted" / str(index), limits)
            )
        else:
            sources.append((item.name, item.path))
    seen: set[str] = set()
    for name, _ in sources:
        if name in seen:
            raise MediaError(f"{name}: two uploaded images have this name")
        seen.add(name)
    if not sources:
        raise MediaError("No media data found: upload at least one image.")
    return sources


def select_frames(
    sources: list[tuple[str, Path]], params: DataParams
) -> tuple[list[tuple[str, Path]], int, int]:
    """Sort, then apply start/stop/step. Returns (frames, start_frame, stop_frame)."""
    by_name = dict(sources)
    try:
        order = sort_names(
            [name for name, _ in sources], params.sorting_method,
            predefined=params.upload_file_order,
        )  # fmt: skip
    except SortingError as exc:
        raise MediaError(str(exc)) from None
    step = frame_step(params.frame_filter)
    last = len(order) - 1
    start = params.start_frame
    if start > last:
        raise MediaError(
            f"start_frame {start} is beyond the last image (there are {len(order)} images)."
        )
    stop = last if params.stop_frame is None else min(params.stop_frame, last)
    chosen = order[start : stop + 1 : step]
    stop = start + (len(chosen) - 1) * step
    return [(name, by_name[name]) for name in chosen], start, stop


def default_chunk_size(width: int, height: int) -> int:
    """CVAT's rule: about 36 full-HD frames per chunk, between 2 and 72."""
    area = max(1, width * height)
    return max(2, min(72, 36 * 1920 * 1080 // area))


def build(
    storage: TaskStorage,
    out: Path,
    received: Sequence[Received],
    params: DataParams,
    *,
    limits: archive.ArchiveLimits,
    progress: Progress,
    check: Callable[[], None],
) -> StoredData:
    """Write a complete data set under `out` (which must not exist). Raises MediaError
    with a message naming the file, or Cancelled from `check`."""
    out.mkdir(parents=True)
    work = out / "work"
    media = classify(collect_sources(received, work, limits))
    if media.videos:
        raise MediaError(f"{media.videos[0][0]}: video is not supported yet")
    if media.pointclouds:
        raise MediaError(f"{media.pointclouds[0][0]}: point clouds are not supported yet")
    stored = build_images(storage, out, media.images, params, progress=progress, check=check)
    shutil.rmtree(work, ignore_errors=True)
    write_meta(storage.meta_path(out), stored)
    return stored


def build_images(
    storage: TaskStorage, out: Path, sources: list[tuple[str, Path]], params: DataParams,
    *, progress: Progress, check: Callable[[], None],
) -> StoredData:  # fmt: skip
    """An image data set: compressed frames, originals, chunks and the preview."""
    frames_src, start, stop = select_frames(sources, params)
    check()

    original_dir = storage.original_frame("", out)
    original_dir.mkdir(parents=True, exist_ok=True)
    storage.compressed_frame(0, out).parent.mkdir(parents=True, exist_ok=True)
    frames: list[FrameInfo] = []
    original_files: list[str] = []
    total = len(frames_src)
    for number, (name, path) in enumerate(frames_src):
        decoded = images.decode(path, name)
        frames.append(FrameInfo(name=name, width=decoded.width, height=decoded.height))
        suffix = Path(name).suffix.lower()[:10] or ".img"
        original = f"{number:06d}{suffix}"
        _link_or_copy(path, original_dir / original)
        original_files.append(original)
        storage.compressed_frame(number, out).write_bytes(
            images.to_jpeg(decoded.image, params.image_quality)
        )
        if number == 0:
            storage.preview(out).write_bytes(images.preview_jpeg(decoded.image))
        decoded.image.close()
        if number % 8 == 7 or number == total - 1:
            progress(0.9 * (number + 1) / total)
            check()

    chunk_size = params.chunk_size or default_chunk_size(frames[0].width, frames[0].height)
    chunks = math.ceil(total / chunk_size)
    for quality in QUALITIES:
        storage.chunk(quality, 0, out).parent.mkdir(parents=True, exist_ok=True)
        for number in range(chunks):
            members = range(number * chunk_size, min(total, (number + 1) * chunk_size))
            write_chunk(
                storage.chunk(quality, number, out),
                [frame_file(storage, quality, f, original_files, out) for f in members],
            )
        check()
    progress(0.99)

    spec = TaskDataSpec(
        frames=frames, image_quality=params.image_quality, chunk_size=chunk_size,
        sorting_method=params.sorting_method, start_frame=start, stop_frame=stop,
        frame_filter=params.frame_filter.strip(),
        storage_method="cache" if params.use_cache else "file_system",
        use_zip_chunks=params.use_zip_chunks, use_cache=params.use_cache,
    )  # fmt: skip
    return StoredData(
        spec=spec, original_files=original_files,
        chunks_updated_date=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    )  # fmt: skip


def frame_file(
    storage: TaskStorage, quality: str, frame: int, original_files: Sequence[str],
    base: Path | None = None,
) -> Path:  # fmt: skip
    if quality == "original":
        return storage.original_frame(original_files[frame], base)
    return storage.compressed_frame(frame, base)


def write_chunk(target: Path, files: Sequence[Path]) -> None:
    """An imageset chunk: the frames in order, named by their position in the chunk (as
    CVAT's zip chunk writers do; clients read members by index)."""
    tmp = target.with_suffix(".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        for index, path in enumerate(files):
            zf.write(path, f"{index:06d}{path.suffix}")
    tmp.replace(target)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
