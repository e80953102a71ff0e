"""Building a video task's data set (build.build() calls it in the worker thread): probe
the one video, select frames (start/stop/frame_filter as for images), cut the chunks
(video.cut: remux at keyframes where possible) and write the preview.

A video task has mode "interpolation"; its chunks are mp4 ("video") for both qualities,
or JPEG zips ("imageset") for the compressed ones with use_zip_chunks, as in CVAT."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from backend.media import images, video
from backend.media.images import MediaError
from backend.media.spec import DataParams, FrameInfo, TaskDataSpec, VideoMeta, frame_step
from backend.media.storage import QUALITIES, StoredData, TaskStorage
from backend.media.video import Check, Progress

# CVAT's chunk size for video tasks (and ours when keyframes give no better one).
VIDEO_CHUNK_SIZE = 36


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


def build_video(
    storage: TaskStorage, out: Path, source: tuple[str, Path], params: DataParams,
    *, progress: Progress, check: Check,
) -> StoredData:  # fmt: skip
    name, path = source
    probe = video.probe(path, name, check)
    progress(0.05)
    frames = select(probe, params)
    check()
    zipped = params.use_zip_chunks
    chunk_size = params.chunk_size or video.default_chunk_size(probe, frames, VIDEO_CHUNK_SIZE)
    plans = video.plan_chunks(probe, frames, chunk_size)
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
    video.cut(path, probe, plans, target, progress=lambda x: progress(0.05 + 0.9 * x), check=check)
    _write_preview(storage.preview(out), path, probe, frames.start)
    progress(0.99)

    meta = VideoMeta(
        name=name, width=probe.width, height=probe.height, fps=round(float(probe.fps), 3),
        frame_count=probe.frame_count, codec=probe.codec, rotation=probe.rotation,
        keyframes=len(probe.keyframes), remuxed_chunks=sum(p.remux for p in plans),
    )  # fmt: skip
    spec = TaskDataSpec(
        # CVAT names a video's frames frame_NNNNNN by their number in the file.
        frames=[FrameInfo(f"frame_{f:06d}", probe.width, probe.height) for f in frames],
        image_quality=params.image_quality, chunk_size=chunk_size,
        sorting_method=params.sorting_method, start_frame=frames.start,
        stop_frame=frames[-1], frame_filter=params.frame_filter.strip(),
        storage_method="cache" if params.use_cache else "file_system",
        use_zip_chunks=zipped, use_cache=params.use_cache,
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
