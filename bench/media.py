"""Media benchmarks on a generated 1080p H.264 video (regular GOP), each against a
baseline measured on the same input in the same run:

  media.video_chunking_fps   building a video task's chunks (the default: mp4 chunks,
                             remuxed at keyframes) / raw PyAV decoding of the file
  media.jpeg_chunking_fps    building JPEG imageset chunks (use_zip_chunks) / PyAV decode
                             + OpenCV JPEG encode of the same frames
  media.cached_chunk_ms      a job chunk made on request (cold) / served again from the
                             chunk cache (value = cached, baseline = cold)
  media.video_cache_chunk_ms a use_cache task's chunk cut from the video on request (cold:
                             a seek into the file) / PyAV seeking to and decoding the same
                             frames; also creation time of the use_cache task vs a prebuilt one
  media.create_10k_peak_mb   peak RSS growth while building a task from a 10,000-image zip
                             / the same from a 2,000-image zip. Pixel data never
                             accumulates, but a task necessarily keeps a small record per
                             frame (name, size, file), so the growth is judged per image:
                             ok when (10k - 2k) / 8,000 images <= 2 KB

No database is needed: the builders and the serving functions are what the worker and
the API run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

import av
import cv2
import numpy as np
from _common import log, median, report

from backend.media import archive, build, chunk_cache, serving, video
from backend.media.build import Received
from backend.media.spec import DataParams
from backend.media.storage import StoredData, TaskStorage

FRAMES = int(os.environ.get("BENCH_VIDEO_FRAMES", "300"))
GOP = 30
QUALITY = 70
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
LIMITS = archive.ArchiveLimits(max_unpacked_bytes=2**34, max_members=100_000)


def make_video(path: Path) -> Path:
    """1080p H.264, a keyframe every GOP frames: a moving gradient with noise (so that
    decoding has real work to do)."""
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 40, (1080, 1920, 3), dtype=np.uint8)
    x = np.linspace(0, 255, 1920, dtype=np.float32)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.codec_context.gop_size = GOP
        stream.options = {"preset": "veryfast", "crf": "23",
                          "x264-params": f"keyint={GOP}:min-keyint={GOP}:scenecut=0"}  # fmt: skip
        for i in range(FRAMES):
            shift = (x + i * 4) % 256
            image = np.broadcast_to(shift.astype(np.uint8)[None, :, None], (1080, 1920, 3))
            image = image + np.roll(noise, i * 7, axis=1)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def decode_fps(path: Path) -> float:
    started = time.perf_counter()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        count = sum(1 for _ in container.decode(stream))
    return count / (time.perf_counter() - started)


def decode_jpeg_fps(path: Path) -> float:
    started = time.perf_counter()
    count = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            image = frame.to_ndarray(format="bgr24")
            cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
            count += 1
    return count / (time.perf_counter() - started)


def build_task(root: Path, files: list[tuple[str, Path, str]], **params: object) -> tuple[
    TaskStorage, StoredData, float
]:  # fmt: skip
    storage = TaskStorage(root, 1)
    out = storage.build_dir(uuid.uuid4().hex)
    started = time.perf_counter()
    stored = build.build(
        storage, out, [Received(n, p, k) for n, p, k in files],  # type: ignore[arg-type]
        DataParams(image_quality=QUALITY, **params), limits=LIMITS,  # type: ignore[arg-type]
        progress=lambda _: None, check=lambda: None,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    shutil.rmtree(storage.data_dir, ignore_errors=True)
    storage.publish(out)
    return storage, stored, elapsed


def best(values: list[float]) -> float:
    return max(values)


def video_figures(work: Path, video: Path) -> None:
    raw = [decode_fps(video) for _ in range(ROUNDS)]
    ours = []
    for _ in range(ROUNDS):
        _, stored, seconds = build_task(work / "v", [("bench.mp4", video, "video")])
        ours.append(stored.spec.size / seconds)
    assert stored.spec.video is not None
    value, baseline = best(ours), best(raw)
    report("media.video_chunking_fps", value, "frames/s", baseline, "ratio >= 0.8",
           value / baseline >= 0.8, frames=FRAMES, chunk_size=stored.spec.chunk_size,
           remuxed_chunks=stored.spec.video.remuxed_chunks)  # fmt: skip

    raw_jpeg = [decode_jpeg_fps(video) for _ in range(ROUNDS)]
    ours_jpeg = []
    for _ in range(ROUNDS):
        _, stored, seconds = build_task(
            work / "j", [("bench.mp4", video, "video")], use_zip_chunks=True
        )
        ours_jpeg.append(stored.spec.size / seconds)
    value, baseline = best(ours_jpeg), best(raw_jpeg)
    report("media.jpeg_chunking_fps", value, "frames/s", baseline, "ratio >= 0.8",
           value / baseline >= 0.8, frames=FRAMES, quality=QUALITY)  # fmt: skip


def cached_chunk_figure(work: Path, video: Path) -> None:
    """A job that starts inside a task chunk: its chunks are made on request (decoded
    from the task's chunks and encoded), then served from the chunk cache."""
    storage, stored, _ = build_task(work / "c", [("bench.mp4", video, "video")])
    cache = chunk_cache.for_data_dir(work / "c", 1024)
    job = {"id": 1, "start_frame": 10, "stop_frame": FRAMES - 1, "frames": None}

    def fetch(index: int) -> float:
        started = time.perf_counter()
        body = serving.job_chunk(storage, stored, job, "compressed", index=index, cache=cache)
        if isinstance(body, Path):
            body.read_bytes()
        else:
            with body:
                body.read()
        return (time.perf_counter() - started) * 1000

    cold = [fetch(i) for i in range(3)]
    warm = [fetch(i % 3) for i in range(30)]
    value, baseline = median(warm), median(cold)
    report("media.cached_chunk_ms", value, "ms", baseline, "ratio <= 0.1",
           value / baseline <= 0.1, chunk_size=stored.spec.chunk_size)  # fmt: skip


def video_cache_figure(work: Path, video_path: Path) -> None:
    """use_cache (data on the fly): creation only probes; each chunk is cut on request."""
    _, _, prebuilt_s = build_task(work / "p", [("bench.mp4", video_path, "video")])
    storage, stored, lazy_s = build_task(
        work / "l", [("bench.mp4", video_path, "video")], use_cache=True
    )
    assert stored.spec.video is not None and stored.spec.video.on_the_fly
    cache = chunk_cache.for_data_dir(work / "l", 1024)
    size = stored.spec.chunk_size
    numbers = list(range(1, serving.chunk_count(stored.spec.size, size)))
    probe = video.probe(video_path, "bench.mp4")

    def cut(number: int) -> float:
        started = time.perf_counter()
        with serving.task_chunk(storage, stored, number, "compressed", cache) as body:
            body.read()
        return (time.perf_counter() - started) * 1000

    def seek_decode(number: int) -> float:
        started = time.perf_counter()
        with av.open(str(video_path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            container.seek(int(probe.frame_pts[number * size]), stream=stream, backward=True)
            for count, _ in enumerate(container.decode(stream), start=1):
                if count == size:
                    break
        return (time.perf_counter() - started) * 1000

    cold, raw = [cut(n) for n in numbers], [seek_decode(n) for n in numbers]
    value, baseline = median(cold), median(raw)
    report("media.video_cache_chunk_ms", value, "ms", baseline, "ratio <= 1.0",
           value / baseline <= 1.0, chunk_size=size, chunks=len(numbers),
           create_s=round(lazy_s, 3), prebuilt_create_s=round(prebuilt_s, 3))  # fmt: skip


# The 10k-image figure: each build runs in a child process, so that its peak RSS
# (VmHWM) is its own; the growth over the RSS before building is what is compared.
CHILD = r"""
import sys, uuid
from pathlib import Path
from backend.media import archive, build
from backend.media.build import Received
from backend.media.spec import DataParams
from backend.media.storage import TaskStorage

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
before = status("VmRSS:")
storage = TaskStorage(sys.argv[2], 1)
received = [Received("images.zip", Path(sys.argv[1]), "archive")]
limits = archive.ArchiveLimits(max_unpacked_bytes=2**34, max_members=100_000)
stored = build.build(
    storage, storage.build_dir(uuid.uuid4().hex), received, DataParams(image_quality=70),
    limits=limits, progress=lambda _: None, check=lambda: None,
)
print(stored.spec.size, status("VmHWM:") - before)
"""


def image_zip(path: Path, count: int) -> Path:
    base = np.random.default_rng(2).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for i in range(count):
            image = np.roll(base, i, axis=1)
            ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            assert ok
            zf.writestr(f"img/{i:06d}.jpg", data.tobytes())
    return path


def peak_growth_mb(work: Path, count: int) -> tuple[float, float]:
    archive_path = image_zip(work / f"images-{count}.zip", count)
    root = work / f"t{count}"
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(archive_path), str(root)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    size, growth = done.stdout.split()
    assert int(size) == count
    shutil.rmtree(root, ignore_errors=True)
    return float(growth), elapsed


def memory_figure(work: Path) -> None:
    small, small_s = peak_growth_mb(work, 2_000)
    big, big_s = peak_growth_mb(work, 10_000)
    per_image_kb = (big - small) * 1024 / 8_000
    report("media.create_10k_peak_mb", big, "MB", small, "growth <= 2 KB per image",
           per_image_kb <= 2, images=10_000, baseline_images=2_000, seconds=round(big_s, 1),
           kb_per_image=round(per_image_kb, 2),
           baseline_seconds=round(small_s, 1))  # fmt: skip


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="vellum-bench-media-"))
    try:
        log(f"generating a 1080p H.264 video of {FRAMES} frames (GOP {GOP})")
        video = make_video(work / "bench.mp4")
        video_figures(work, video)
        cached_chunk_figure(work, video)
        video_cache_figure(work, video)
        memory_figure(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
