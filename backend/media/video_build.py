"""Building a video task's data set (build.build() calls it in the worker thread): probe
the one video, select frames (start/stop/frame_filter as for images), cut the chunks
(video.cut: remux at keyframes where possible), write the preview and manifest.jsonl.

A video task has mode "interpolation"; its chunks are mp4 ("video") for both qualities,
or JPEG zips ("imageset") for the compressed ones with use_zip_chunks, as in CVAT.

use_cache (CVAT's "data on the fly"): nothing is cut here; the video and its probe are
kept and video_serving.py cuts each chunk on request with the same plan and writers, so
the bytes are those a prebuilt task serves. A chunk made on request decodes from the
clean keyframe at or before its first frame; when that lead-in exceeds MAX_LEAD_IN
chunks for some chunk (keyframes too sparse), or the file has no timestamps to seek by,
all chunks are made here instead, storage_method says "file_system" and the video meta
says why (CVAT does the same with its 3 x chunk_size frames per keyframe rule).

A manifest.jsonl given beside the video must describe it: its name (the file name),
resolution and length, and each key frame line's pts must be that frame's; MediaError
naming the mismatch and the line otherwise. The probe (one demux pass, no decoding) is
still what frames are counted and cut by; the manifest's checksums are kept in the
task's manifest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from PIL import Image

from backend.media import images, video
from backend.media import manifest as manifests_
from backend.media.images import MediaError
from backend.media.spec import (
    DataParams,
    FrameInfo,
    TaskDataSpec,
    VideoMeta,
    default_chunk_size,
    frame_step,
)
from backend.media.storage import QUALITIES, StoredData, TaskStorage
from backend.media.video import Check, Progress

VIDEO_CHUNK_SIZE = 36

# use_cache: the most frames decoded before a chunk's first frame, in chunk sizes (CVAT
# prebuilds when a video has fewer than one keyframe per 3 x chunk_size frames).
MAX_LEAD_IN = 3


def check_alone(videos: list[tuple[str, Path]], others: list[str]) -> tuple[str, Path]:
    """A video task holds one video and nothing else; MediaError naming the files."""
    extra = [name for name, _ in videos[1:]] + others
    if extra:
        raise MediaError(mixed_message(videos[0][0], extra))
    return videos[0]


def mixed_message(video_name: str, others: list[str]) -> str:
    shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
    return f"{video_name}: a task takes one video and no other files (also given: {shown})"


def select(probe: video.Probe, params: DataParams) -> range:
    """The source frames the task keeps (CVAT's start_frame, stop_frame, step=N)."""
    last = probe.frame_count - 1
    start = params.start_frame
    if start > last:
        raise MediaError(
            f"start_frame {start} is beyond the last frame of {probe.name} "
            f"(it has {probe.frame_count} frames)."
        )
    stop = last if params.stop_frame is None else min(params.stop_frame, last)
    return range(start, stop + 1, frame_step(params.frame_filter))


def lead_in_problem(probe: video.Probe, plans: Sequence[video.ChunkPlan], chunk_size: int) -> str:
    """Why chunks cannot be cut on request at a bearable cost ("" when they can): every
    chunk's decoding must start at most MAX_LEAD_IN chunk sizes before its first frame."""
    if not probe.by_pts:
        return (
            f"{probe.name}: the video has no usable timestamps to seek by; all chunks were "
            "prepared during task creation."
        )
    limit = MAX_LEAD_IN * chunk_size
    worst = max(p.frames[0] - probe.entry(p.frames[0]) for p in plans)
    if worst > limit:
        return (
            f"{probe.name}: too few keyframes for smooth video decoding ({worst} frames "
            f"before a chunk's first frame would be decoded; at most {limit}, "
            f"{MAX_LEAD_IN} x chunk size); all chunks were prepared during task creation."
        )
    return ""


def build_video(
    storage: TaskStorage, out: Path, source: tuple[str, Path], params: DataParams,
    *, progress: Progress, check: Check, manifests: Sequence[tuple[str, Path]] = (),
) -> StoredData:  # fmt: skip
    name, path = source
    probe = video.probe(path, name, check)
    checksums = given_checksums(manifests, probe)
    progress(0.05)
    frames = select(probe, params)
    check()
    zipped = params.use_zip_chunks
    # JPEG zip chunks: CVAT's size for the frame area (a keyframe interval of 250 1080p
    # JPEGs would be ~300 MB). mp4 chunks follow the keyframe interval so they can be
    # remuxed, else at most 36 frames (CVAT's size for full HD) or the area's size.
    by_area = default_chunk_size(probe.width, probe.height)
    if params.chunk_size:
        chunk_size = params.chunk_size
    elif zipped:
        chunk_size = by_area
    else:
        chunk_size = video.default_chunk_size(probe, frames, min(VIDEO_CHUNK_SIZE, by_area))
    plans = video.plan_chunks(probe, frames, chunk_size)
    reason = lead_in_problem(probe, plans, chunk_size) if params.use_cache else ""
    on_the_fly = params.use_cache and not reason
    # The uploaded video is always kept, as CVAT keeps its raw data: chunks made on request
    # are cut from it, and backups carry it.
    storage.source_video(out).parent.mkdir(parents=True, exist_ok=True)
    video.link_or_copy(path, storage.source_video(out))
    if on_the_fly:  # chunks are cut on request (video_serving.py): keep what that needs
        video.save_probe(storage.video_probe(out), probe)
    else:
        for quality in QUALITIES:
            storage.video_chunk(quality, 0, out).parent.mkdir(parents=True, exist_ok=True)
        target = video.CutOutput(
            original=lambda n: storage.video_chunk("original", n, out),
            compressed=(
                (lambda n: storage.chunk("compressed", n, out))
                if zipped
                else (lambda n: storage.video_chunk("compressed", n, out))
            ),
            compressed_kind="imageset" if zipped else "video",
            quality=params.image_quality,
        )
        video.cut(path, probe, plans, target, progress=lambda x: progress(0.05 + 0.9 * x),
                  check=check)  # fmt: skip
    _write_preview(storage.preview(out), path, probe, frames.start)
    write_manifest(storage.manifest(out), probe, checksums)
    progress(0.99)

    meta = VideoMeta(
        name=name, width=probe.width, height=probe.height, fps=round(float(probe.fps), 3),
        frame_count=probe.frame_count, codec=probe.codec, rotation=probe.rotation,
        keyframes=len(probe.keyframes), remuxed_chunks=sum(p.remux for p in plans),
        on_the_fly=on_the_fly, prebuilt_reason=reason,
    )  # fmt: skip
    spec = TaskDataSpec(
        # CVAT names a video's frames frame_NNNNNN by their number in the file.
        frames=[FrameInfo(f"frame_{f:06d}", probe.width, probe.height) for f in frames],
        image_quality=params.image_quality, chunk_size=chunk_size,
        sorting_method=params.sorting_method, start_frame=frames.start,
        stop_frame=frames[-1], frame_filter=params.frame_filter.strip(),
        storage_method="cache" if on_the_fly else "file_system",
        use_zip_chunks=zipped, use_cache=on_the_fly,
        compressed_chunk_type="imageset" if zipped else "video",
        original_chunk_type="video", mode="interpolation", video=meta,
    )  # fmt: skip
    return StoredData(
        spec=spec, original_files=[],
        chunks_updated_date=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    )  # fmt: skip


def _write_preview(target: Path, path: Path, probe: video.Probe, frame: int) -> None:
    for _, decoded in video.read_frames(path, probe, [frame]):
        image = video.upright_bgr(decoded, probe.rotation)
        target.write_bytes(images.preview_jpeg(Image.fromarray(image[:, :, ::-1])))
        return
    raise MediaError(f"{probe.name}: frame {frame} cannot be decoded")


# --- manifest.jsonl ------------------------------------------------------------------------


def write_manifest(target: Path, probe: video.Probe, checksums: dict[int, str]) -> None:
    """CVAT's video manifest: the file's name, upright resolution and length, one line per
    clean keyframe (where chunks are cut and seeks land). Checksums are written only
    where a given manifest had them, as for images (computing them would decode every
    keyframe)."""
    keys = [
        manifests_.KeyFrame(number=f, pts=int(probe.frame_pts[f]), checksum=checksums.get(f))
        for f in probe.keyframes
    ]
    manifests_.write_video(target, PurePosixPath(probe.name).name, probe.width, probe.height,
                           probe.frame_count, keys)  # fmt: skip


def given_checksums(manifests: Sequence[tuple[str, Path]], probe: video.Probe) -> dict[int, str]:
    """Check the manifest given beside the video (if any) against it; the key frame
    checksums it holds (frame -> md5). MediaError naming the mismatch and the line."""
    if not manifests:
        return {}
    if len(manifests) > 1:
        names = ", ".join(name for name, _ in manifests)
        raise MediaError(f"{names}: more than one manifest; a task takes one manifest.jsonl")
    source, path = manifests[0]
    given = manifests_.read_video(path, source)
    props_line, key_lines = _line_numbers(path)
    where = f"{source}: line {props_line}"
    video_name = PurePosixPath(probe.name).name
    if PurePosixPath(given.name).name != video_name:
        raise MediaError(f"{where}: the manifest describes {given.name}, not {video_name}")
    if (given.width, given.height) != (probe.width, probe.height):
        raise MediaError(
            f"{where}: resolution {given.width}x{given.height} in the manifest, but "
            f"{video_name} is {probe.width}x{probe.height}"
        )
    if given.length != probe.frame_count:
        raise MediaError(
            f"{where}: length {given.length} in the manifest, but {video_name} has "
            f"{probe.frame_count} frames"
        )
    checksums = {}
    for key, line in zip(given.keyframes, key_lines, strict=False):
        actual = int(probe.frame_pts[key.number])
        if key.pts != actual:
            raise MediaError(
                f"{source}: line {line}: key frame {key.number} has pts {key.pts} in the "
                f"manifest, but {actual} in {video_name}"
            )
        if key.checksum is not None:
            checksums[key.number] = key.checksum
    return checksums


def _line_numbers(path: Path) -> tuple[int, list[int]]:
    """Line numbers of the properties line and of the key frame lines (blank lines are
    skipped, as manifest.parse does; the file was parsed already)."""
    with path.open("rb") as f:
        lines = [n for n, raw in enumerate(f, start=1) if raw.strip()]
    return lines[2], lines[3:]
