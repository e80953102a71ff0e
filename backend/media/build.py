"""Building a task's data set from the uploaded files (runs in a worker thread): unpack,
sort, filter, decode every image, write compressed frames, chunks, the preview and the
meta file. Everything goes into a build directory that is published only when complete."""

from __future__ import annotations

import math
import os
import shutil
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from PIL import ExifTags, Image, UnidentifiedImageError

from backend.media import archive, images, pointcloud, related, video, video_build
from backend.media import manifest as manifests_
from backend.media.images import MediaError
from backend.media.related import store_context
from backend.media.sorting import SortingError, sort_names
from backend.media.spec import (
    DataParams,
    FrameInfo,
    TaskDataSpec,
    default_chunk_size,
    frame_step,
)
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
    """Sort the sources by what they are; the video and manifest branches sort their
    files here. Context images leave `images` for `related` (CVAT's layouts, related.py);
    with point clouds every other image must be a context image."""
    media = MediaSet()
    for name, path in sources:
        if _is_manifest(path):  # a manifest is never a frame
            media.manifests.append((name, path))
            continue
        if video.looks_like_video(path) and video.is_video(path):
            media.videos.append((name, path))
            continue
        kind = pointcloud.kind_of(path, name)
        if kind == "bin":
            pointcloud.check_bin(path.stat().st_size, name)
        if kind is not None:
            media.pointclouds.append((pointcloud.pcd_name(name), path))
        else:
            media.images.append((name, path))
    _attach_context_images(media)
    return media


def _attach_context_images(media: MediaSet) -> None:
    by_name = dict(media.images)
    names = [name for name, _ in media.images]
    if media.pointclouds:
        frame_names = [name for name, _ in media.pointclouds]
        if len(set(frame_names)) != len(frame_names):
            dup = next(n for n in frame_names if frame_names.count(n) > 1)
            raise MediaError(f"{dup}: two point clouds have this name (a .bin becomes a .pcd)")
        layout = related.layout_3d(frame_names, names)
        if layout.plain:
            raise MediaError(related.mixed_message(layout.plain))
        media.images = []
    else:
        layout = related.layout_2d(names)
        if names and not layout.frames:
            raise MediaError(
                f"{names[0]}: every image is a context image (under related_images/); "
                "no frames to annotate"
            )
        media.images = [(name, by_name[name]) for name in layout.frames]
    media.related = {
        frame: [(name, by_name[name]) for name in context]
        for frame, context in layout.related.items()
    }


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


def _in_upload_order(
    received: Sequence[Received], params: DataParams
) -> tuple[Sequence[Received], DataParams]:
    """CVAT applies `upload_file_order` to the uploaded files, an archive standing for its
    images in archive order (cvat-sdk sends the names of the files it uploads, so
    'predefined' with one zip names the zip). An order naming the uploads exactly puts them
    in that order; any other is checked against the frame names (select_frames)."""
    order = params.upload_file_order
    if params.sorting_method != "predefined" or not order:
        return received, params
    by_name = {item.name: item for item in received}
    if len(by_name) != len(received) or len(order) != len(by_name) or set(order) != set(by_name):
        return received, params
    return [by_name[name] for name in order], msgspec.structs.replace(params, upload_file_order=[])


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
    received, params = _in_upload_order(received, params)
    media = classify(collect_sources(received, work, limits))
    if media.videos:
        others = [name for name, _ in media.images + media.pointclouds]
        stored = video_build.build_video(
            storage, out, video_build.check_alone(media.videos, others), params,
            progress=progress, check=check, manifests=media.manifests,
        )  # fmt: skip
    elif media.pointclouds:
        frames, start, stop = select_frames(media.pointclouds, params)
        check()
        stored = pointcloud.build_pointclouds(
            storage, out, frames, params, start=start, stop=stop, related=media.related,
            progress=progress, check=check,
        )  # fmt: skip
    else:
        stored = build_images(
            storage, out, media.images, params, progress=progress, check=check,
            related=media.related, manifests=media.manifests,
        )  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)
    write_meta(storage.meta_path(out), stored)
    return stored


def build_images(
    storage: TaskStorage, out: Path, sources: list[tuple[str, Path]], params: DataParams,
    *, progress: Progress, check: Callable[[], None],
    related: Mapping[str, list[tuple[str, Path]]] | None = None,
    manifests: Sequence[tuple[str, Path]] = (),
) -> StoredData:  # fmt: skip
    """An image data set: compressed frames, originals, chunks, the preview and
    manifest.jsonl; `related` (frame name -> its context images) are stored per frame.
    A `manifests` file given with the images must list exactly them (its sizes are
    checked, its order is the `predefined` order). With `use_cache` only the originals,
    preview and manifest are written (chunks are made on request: chunk_cache.py) and
    only the first image is decoded here; the others' headers give their sizes."""
    if not sources and manifests:
        names = ", ".join(name for name, _ in manifests)
        raise MediaError(
            f"No media data found: {names} is a manifest without images or a video; "
            "upload the files it lists too."
        )
    given = manifests_.given_images(manifests, [name for name, _ in sources])
    listed = {item.file_name: item for item in given.items} if given else {}
    if given and params.sorting_method == "predefined" and not params.upload_file_order:
        params = msgspec.structs.replace(params, upload_file_order=list(listed))
    frames_src, start, stop = select_frames(sources, params)
    check()

    original_dir = storage.original_frame("", out)
    original_dir.mkdir(parents=True, exist_ok=True)
    if not params.use_cache:
        storage.compressed_frame(0, out).parent.mkdir(parents=True, exist_ok=True)
    frames: list[FrameInfo] = []
    original_files: list[str] = []
    total = len(frames_src)
    items: list[manifests_.ImageItem] = []
    for number, (name, path) in enumerate(frames_src):
        decoded = None if params.use_cache and number else images.decode(path, name)
        width, height = (decoded.width, decoded.height) if decoded else header_size(path, name)
        if name in listed:
            manifests_.check_size(listed[name], manifests[0][0], width, height)
        context = (related or {}).get(name, [])
        checksum = listed[name].checksum if name in listed else None
        related_names = [n for n, _ in context]
        items.append(manifests_.image_item(name, width, height, related_images=related_names,
                                           checksum=checksum))  # fmt: skip
        related_files = store_context(storage, out, number, context)
        frames.append(FrameInfo(name, width, height, related_files))
        suffix = Path(name).suffix.lower()[:10] or ".img"
        original = f"{number:06d}{suffix}"
        _link_or_copy(path, original_dir / original)
        original_files.append(original)
        if decoded is not None:
            if not params.use_cache:
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
    manifests_.write_images(storage.manifest(out), items)
    for quality in () if params.use_cache else QUALITIES:  # use_cache: made on request
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


def write_jpeg_chunk(target: Path, frames: Sequence[tuple[Path, str]], quality: int) -> None:
    """A compressed imageset chunk made from the original images (use_cache tasks): the
    same decode and JPEG encoding as the prebuilt frames, so the same bytes."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as zf:
        for index, (path, name) in enumerate(frames):
            decoded = images.decode(path, name)
            data = images.to_jpeg(decoded.image, quality)
            zf.writestr(images.zip_member(f"{index:06d}.jpeg"), data)
            decoded.image.close()


def _is_manifest(path: Path) -> bool:
    with path.open("rb") as f:
        return manifests_.looks_like_manifest(f.read(256))


def header_size(path: Path, name: str) -> tuple[int, int]:
    """(width, height) as shown (EXIF orientation applied) from the image header, without
    decoding the pixels; MediaError naming `name` when it is no supported image."""
    try:
        with Image.open(path) as opened:
            if opened.format not in images.IMAGE_FORMATS:
                raise MediaError(f"{name}: unsupported image format {opened.format}")
            width, height = opened.size
            # A PNG's getexif() decodes the whole image to look for an eXIf chunk after
            # the pixels; only one found before them is read here.
            header_exif = opened.format != "PNG" or "exif" in opened.info
            orientation = opened.getexif().get(ExifTags.Base.Orientation, 1) if header_exif else 1
            rotated = orientation in (5, 6, 7, 8)
    except MediaError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise MediaError(f"{name}: cannot read the image ({exc})") from None
    return (height, width) if rotated else (width, height)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
