"""Video through PyAV: probe (one demux pass: frame count, timestamps, keyframes), rotation,
keyframe-aware frame reads, and cutting chunks (packets remuxed at keyframes, or frames
re-encoded) in one bounded-memory pass over the file.

Frame numbers here are SOURCE frame numbers: positions in presentation order."""

from __future__ import annotations

import functools
import os
import shutil
import zipfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol

import av
import av.error
import cv2
import numpy as np
import numpy.typing as npt

from backend.media.images import MediaError, zip_member

# Demuxers accepted (names as libavformat reports them, e.g. "mov,mp4,m4a,3gp,3g2,mj2").
CONTAINERS = {"mov", "mp4", "matroska", "webm", "avi"}
# Codecs whose packets are copied into mp4 chunks unchanged. Only H.264: the chunks'
# consumers (CVAT's UI decoder, cvat-sdk users) expect H.264 in mp4, as CVAT writes them;
# every other codec is re-encoded to H.264.
REMUX_CODECS = {"h264"}
# CVAT's Mpeg4ChunkWriter quality for original video chunks (QP 17, visually lossless).
ORIGINAL_QUALITY = 67
DEFAULT_FPS = Fraction(25)
JPEG_THREADS = min(4, os.cpu_count() or 1)  # JPEG encoding beside the decoder

Check = Callable[[], None]
Progress = Callable[[float], None]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Probe:
    """What one demux pass (plus decoding the first and the last GOP) found."""

    name: str
    container: str
    codec: str
    width: int  # upright (after rotation)
    height: int
    rotation: int  # counter-clockwise degrees to show the frames upright: 0/90/180/270
    fps: Fraction
    # Per frame (presentation order): its timestamp, and whether a chunk may start there
    # without the frames before it (a keyframe that no earlier-decoded packet follows and
    # no later-decoded packet precedes).
    frame_pts: IntArray
    clean: BoolArray
    # Per packet (decode order): the frame it holds.
    packet_frame: IntArray
    # Timestamps are unique and present: decoded frames are numbered by pts, else counted.
    by_pts: bool

    @property
    def frame_count(self) -> int:
        return len(self.frame_pts)

    @property
    def keyframes(self) -> list[int]:
        """The clean cut points (decoding may also always start at the file's start)."""
        return [int(f) for f in np.flatnonzero(self.clean)]

    @property
    def remuxable(self) -> bool:
        return self.codec in REMUX_CODECS and self.rotation == 0 and self.by_pts

    def entry(self, frame: int) -> int:
        """The clean keyframe at or before `frame`, else 0: decoding starts there (0: at
        the start of the file)."""
        keys = np.flatnonzero(self.clean[: frame + 1])
        return int(keys[-1]) if len(keys) else 0

    def frame_of(self, pts: int | None, counted: int) -> int:
        """The source frame number of a decoded frame."""
        if not self.by_pts or pts is None:
            return counted
        at = int(np.searchsorted(self.frame_pts, pts))
        if at < len(self.frame_pts) and self.frame_pts[at] == pts:
            return at
        return -1  # a frame the demuxer did not announce: skipped


def save_probe(target: Path, probe: Probe) -> None:
    """The probe beside a use_cache data set, so chunks made on request need no new pass
    over the file (numpy arrays: a few bytes per frame)."""
    tmp = target.with_name(target.name + ".part")
    with tmp.open("wb") as f:
        np.savez(
            f, frame_pts=probe.frame_pts, clean=probe.clean, packet_frame=probe.packet_frame,
            by_pts=np.array(probe.by_pts), rotation=np.array(probe.rotation),
            size=np.array([probe.width, probe.height]),
            fps=np.array([probe.fps.numerator, probe.fps.denominator]),
            text=np.array([probe.name, probe.container, probe.codec]),
        )  # fmt: skip
    tmp.replace(target)


def load_probe(path: Path) -> Probe:
    """`save_probe`'s file, read once per process and version of the file."""
    stat = path.stat()
    return _load_probe(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _load_probe(path: str, _mtime: int, _size: int) -> Probe:
    with np.load(path) as data:
        name, container, codec = (str(t) for t in data["text"])
        width, height = (int(v) for v in data["size"])
        num, den = (int(v) for v in data["fps"])
        return Probe(
            name=name, container=container, codec=codec, width=width, height=height,
            rotation=int(data["rotation"]), fps=Fraction(num, den),
            frame_pts=data["frame_pts"], clean=data["clean"],
            packet_frame=data["packet_frame"], by_pts=bool(data["by_pts"]),
        )  # fmt: skip


def is_video(path: Path) -> bool:
    """Content sniffing: a container we accept holding a video stream."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            return _accepted(container) and bool(container.streams.video)
    except (av.error.FFmpegError, OSError, ValueError, UnicodeDecodeError):
        return False


def _accepted(container: Any) -> bool:
    return bool(set(str(container.format.name).split(",")) & CONTAINERS)


def _open(path: Path, name: str) -> Any:
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise MediaError(f"{name}: cannot read the video ({reason})") from None
    if not _accepted(container) or not container.streams.video:
        container.close()
        raise MediaError(f"{name}: not a video in an mp4, webm, mkv or avi container")
    return container


def _broken(name: str, exc: BaseException) -> MediaError:
    reason = getattr(exc, "strerror", None) or str(exc)
    return MediaError(f"{name}: the video is broken or truncated ({reason})")


def probe(path: Path, name: str, check: Check | None = None) -> Probe:
    """Demux every packet of the first video stream (no decoding) to count and order the
    frames; decode the first frame (rotation, size) and the last GOP (a truncated file
    fails here, not when served)."""
    pts_list: list[int] = []
    keys: list[bool] = []
    missing = False
    with _open(path, name) as container:
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        fps = stream.average_rate or stream.guessed_rate or DEFAULT_FPS
        try:
            for packet in container.demux(stream):
                if packet.size == 0 or packet.is_discard:  # discard: cut by an edit list
                    continue
                ts = packet.pts if packet.pts is not None else packet.dts
                if ts is None:
                    missing = True
                    ts = pts_list[-1] + 1 if pts_list else 0
                pts_list.append(int(ts))
                keys.append(bool(packet.is_keyframe))
                if check is not None and len(pts_list) % 256 == 0:
                    check()
        except av.error.FFmpegError as exc:
            raise _broken(name, exc) from None
    if not pts_list:
        raise MediaError(f"{name}: the video has no frames")
    packet_pts = np.array(pts_list, dtype=np.int64)
    order = np.argsort(packet_pts, kind="stable")
    frame_pts = packet_pts[order]
    by_pts = not missing and bool(np.all(np.diff(frame_pts) > 0))
    if not by_pts:
        # No usable timestamps: frames are numbered in decode order, which then must
        # also be presentation order (true for codecs without reordering).
        order = np.arange(len(packet_pts), dtype=np.int64)
    packet_frame = np.empty_like(order)
    packet_frame[order] = np.arange(len(order), dtype=np.int64)
    is_key = np.array(keys, dtype=np.bool_)
    # Frame f is a clean cut point when packet f is a keyframe holding frame f and the
    # packets before it hold exactly frames 0..f-1.
    index = np.arange(len(packet_frame), dtype=np.int64)
    prefix_max = np.maximum.accumulate(np.concatenate(([-1], packet_frame[:-1])))
    clean = is_key & (packet_frame == index) & (prefix_max == index - 1)
    found = Probe(
        name=name, container=container.format.name, codec=codec, width=0, height=0,
        rotation=0, fps=Fraction(fps), frame_pts=frame_pts, clean=clean,
        packet_frame=packet_frame, by_pts=by_pts,
    )  # fmt: skip
    first = next(iter(read_frames(path, found, [0])), None)
    if first is None:
        raise MediaError(f"{name}: the first frame cannot be decoded")
    rotation = round(first[1].rotation or 0) % 360 // 90 * 90
    width, height = first[1].width, first[1].height
    if rotation in (90, 270):
        width, height = height, width
    found = Probe(
        name=name, container=found.container, codec=codec, width=width, height=height,
        rotation=rotation, fps=found.fps, frame_pts=frame_pts, clean=clean,
        packet_frame=packet_frame, by_pts=by_pts,
    )  # fmt: skip
    last = found.frame_count - 1
    tail = range(found.entry(last), last + 1)
    if sum(1 for _ in read_frames(path, found, tail)) != len(tail):
        raise MediaError(f"{name}: the video is broken or truncated (its last frames are missing)")
    return found


def read_frames(path: Path, probe: Probe, frames: Sequence[int]) -> Iterator[tuple[int, Any]]:
    """(source frame, av.VideoFrame) for the wanted frames: seek to the clean keyframe at
    or before the first one and decode forward. When the demuxer's seek lands after it
    (an imprecise index), decode from the start instead."""
    if not frames:
        return
    wanted = set(frames)
    first, last = min(frames), max(frames)
    entry = probe.entry(first)
    seek = entry > 0 and probe.by_pts  # without timestamps frames are counted from 0
    while True:
        with _open(path, probe.name) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if seek:
                container.seek(int(probe.frame_pts[entry]), stream=stream, backward=True)
            counted, started = 0, False
            try:
                for frame in container.decode(stream):
                    number = probe.frame_of(frame.pts, counted)
                    counted += 1
                    if number < 0:
                        continue
                    if not started:
                        started = True
                        if number > first:
                            break  # the seek went too far
                    if number in wanted:
                        wanted.discard(number)
                        yield number, frame
                    if number >= last or not wanted:
                        return
                else:
                    return  # the end of the file: what is missing does not exist
            except av.error.FFmpegError as exc:
                raise _broken(probe.name, exc) from None
        if not seek:
            return
        seek = False


def upright_bgr(frame: Any, rotation: int) -> npt.NDArray[np.uint8]:
    """The frame as a BGR array, turned to show upright."""
    image: npt.NDArray[np.uint8] = frame.to_ndarray(format="bgr24")
    if rotation:
        image = np.ascontiguousarray(np.rot90(image, rotation // 90))
    return image


def jpeg(image: npt.NDArray[np.uint8], quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, max(1, min(quality, 100))])
    if not ok:
        raise MediaError("cannot encode a JPEG frame")
    return bytes(data)


def png(image: npt.NDArray[np.uint8]) -> bytes:
    ok, data = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise MediaError("cannot encode a PNG frame")
    return bytes(data)


# --- chunk writers -----------------------------------------------------------------------


def crf_of(quality: int) -> int:
    """CVAT's mapping of image quality 1..100 onto x264's CRF 51..0."""
    return round(51 * (100 - max(1, min(quality, 100))) / 99)


class FrameSink(Protocol):
    def add(self, frame: Any, image: npt.NDArray[np.uint8] | None) -> None: ...
    def close(self) -> None: ...


class Mp4Writer:
    """An H.264 mp4 chunk made from frames. `compressed`: Baseline profile without the
    loop filter (CVAT's compressed video chunks, decodable by its browser decoder)."""

    def __init__(
        self, target: Path, *, quality: int, fps: Fraction, width: int, height: int,
        compressed: bool, rotation: int = 0,
    ) -> None:  # fmt: skip
        self.target = target
        self.tmp = target.with_suffix(".part")
        self.rotation = rotation
        self.container = av.open(str(self.tmp), "w", format="mp4")
        self.stream = self.container.add_stream("libx264", rate=fps)
        self.frame_time = 1 / fps
        # yuv420p needs even sizes (as CVAT does, the frame is scaled by a pixel).
        self.stream.width, self.stream.height = width + width % 2, height + height % 2
        self.stream.pix_fmt = "yuv420p"
        options: dict[str, object] = {"crf": str(crf_of(quality)), "preset": "ultrafast"}
        if compressed:
            options |= {"profile": "baseline", "coder": "0", "wpredp": "0", "flags": "-loop"}
        self.stream.options = options
        self.count = 0

    def add(self, frame: Any, image: npt.NDArray[np.uint8] | None) -> None:
        if self.rotation:
            if image is None:
                image = upright_bgr(frame, self.rotation)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts = self.count
        frame.time_base = self.frame_time
        frame.pict_type = av.video.frame.PictureType.NONE  # let x264 choose frame types
        self.count += 1
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()
        self.tmp.replace(self.target)

    def abort(self) -> None:
        self.container.close()
        self.tmp.unlink(missing_ok=True)


class JpegZipWriter:
    """An imageset chunk of JPEG frames named by their position (CVAT's zip chunks).
    Frames are converted and encoded in `pool` (OpenCV and the pixel conversion release
    the GIL) while the decoder goes on; at most IN_FLIGHT frames wait, in order."""

    IN_FLIGHT = 4

    def __init__(self, target: Path, *, quality: int, rotation: int, pool: Executor) -> None:
        self.target = target
        self.tmp = target.with_suffix(".part")
        self.quality = quality
        self.rotation = rotation
        self.pool = pool
        self.pending: deque[Future[bytes]] = deque()
        self.zip = zipfile.ZipFile(self.tmp, "w", compression=zipfile.ZIP_STORED)
        self.count = 0

    def add(self, frame: Any, image: npt.NDArray[np.uint8] | None) -> None:
        self.pending.append(self.pool.submit(self._encode, frame, image))
        while len(self.pending) > self.IN_FLIGHT:
            self._write(self.pending.popleft().result())

    def _encode(self, frame: Any, image: npt.NDArray[np.uint8] | None) -> bytes:
        return jpeg(image if image is not None else upright_bgr(frame, self.rotation), self.quality)

    def _write(self, data: bytes) -> None:
        self.zip.writestr(zip_member(f"{self.count:06d}.jpeg"), data)
        self.count += 1

    def close(self) -> None:
        while self.pending:
            self._write(self.pending.popleft().result())
        self.zip.close()
        self.tmp.replace(self.target)

    def abort(self) -> None:
        for future in self.pending:
            future.cancel()
        wait(self.pending)
        self.zip.close()
        self.tmp.unlink(missing_ok=True)


class RemuxWriter:
    """An mp4 chunk made of the source's packets, timestamps shifted to start at zero."""

    def __init__(self, target: Path, template: Any, first_pts: int) -> None:
        self.target = target
        self.tmp = target.with_suffix(".part")
        self.container = av.open(str(self.tmp), "w", format="mp4")
        self.stream = self.container.add_stream_from_template(template)
        self.time_base = template.time_base
        self.first_pts = first_pts
        self.count = 0

    def add(self, packet: Any, dts: int) -> None:
        packet.pts = int(packet.pts) - self.first_pts
        packet.dts = dts - self.first_pts
        packet.time_base = self.time_base
        packet.stream = self.stream
        self.container.mux(packet)
        self.count += 1

    def close(self) -> None:
        self.container.close()
        self.tmp.replace(self.target)

    def abort(self) -> None:
        self.container.close()
        self.tmp.unlink(missing_ok=True)


# --- cutting -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkPlan:
    """One chunk: its source frames, and whether its packets are copied (remux)."""

    frames: range
    remux: bool


def plan_chunks(probe: Probe, frames: range, chunk_size: int) -> list[ChunkPlan]:
    """Cut the selected source frames into chunks of `chunk_size`; a chunk is remuxed when
    its frames are consecutive and both its ends are clean cut points (or the end)."""
    plans = []
    for at in range(0, len(frames), chunk_size):
        members = frames[at : at + chunk_size]
        first, end = members[0], members[-1] + 1
        remux = (
            probe.remuxable and members.step == 1 and bool(probe.clean[first])
            and (end == probe.frame_count or bool(probe.clean[end]))
        )  # fmt: skip
        plans.append(ChunkPlan(members, remux))
    return plans


def default_chunk_size(probe: Probe, frames: range, fallback: int) -> int:
    """Chunks as long as the keyframe interval (or a multiple of it up to `fallback`), so
    every chunk can be remuxed when keyframes are regular. Intervals past 250 frames (x264's
    default) would make chunks too heavy to load; then and without remuxing, `fallback`."""
    if not probe.remuxable or frames.step != 1 or not probe.clean[frames.start]:
        return fallback
    keys = np.flatnonzero(probe.clean[frames.start : frames.stop])
    if len(keys) < 2:
        return fallback
    intervals, counts = np.unique(np.diff(keys), return_counts=True)
    gop = int(intervals[np.argmax(counts)])
    if gop > 250:
        return fallback
    return gop * max(1, fallback // gop)


ChunkKind = Literal["video", "imageset"]


@dataclass(frozen=True)
class CutOutput:
    """Where chunk n goes, and what the compressed chunks are. A quality left None is not
    written (a chunk made on request is one quality: video_cache.py)."""

    original: Callable[[int], Path] | None
    compressed: Callable[[int], Path] | None
    compressed_kind: ChunkKind
    quality: int


def cut(
    path: Path, probe: Probe, plans: Sequence[ChunkPlan], out: CutOutput,
    *, progress: Progress, check: Check,
) -> None:  # fmt: skip
    """Write every chunk in one pass over the file: packets of remuxed chunks are copied;
    the decoder only runs over the packet ranges whose frames are needed (chunks that are
    re-encoded, and every chunk when compressed chunks are JPEG zips). Memory holds one
    frame and one open writer per quality, whatever the video's length. The pass starts
    with a seek to the first clean keyframe it needs (the file's start without one)."""
    with ThreadPoolExecutor(JPEG_THREADS, thread_name_prefix="jpeg") as pool:
        _Cutter(path, probe, plans, out, progress, check, pool).run()


class _SeekMissed(Exception):
    """The demuxer's seek did not land on (or before) the wanted keyframe."""


class _Cutter:
    def __init__(
        self, path: Path, probe: Probe, plans: Sequence[ChunkPlan], out: CutOutput,
        progress: Progress, check: Check, pool: Executor,
    ) -> None:  # fmt: skip
        self.path, self.probe, self.plans, self.out = path, probe, plans, out
        self.pool = pool
        self.progress, self.check = progress, check
        zipped = out.compressed_kind == "imageset" and out.compressed is not None
        self.decoded = [zipped or not plan.remux for plan in plans]
        # Source frame -> chunk number, for selected frames (-1 otherwise).
        self.chunk_of = np.full(probe.frame_count, -1, dtype=np.int64)
        for number, plan in enumerate(plans):
            self.chunk_of[plan.frames.start : plan.frames.stop : plan.frames.step] = number
        self.ranges = self._decode_ranges()
        self.sinks: dict[int, list[FrameSink]] = {}
        self.got = [0] * len(plans)
        self.remux: RemuxWriter | None = None
        self.remux_chunk = -1
        self.dts_shift = 0
        self.open: list[Any] = []

    def _decode_ranges(self) -> list[tuple[int, int]]:
        """Packet ranges [first, last] to decode, merged where they touch."""
        merged: list[tuple[int, int]] = []
        for plan, decoded in zip(self.plans, self.decoded, strict=True):
            if not decoded:
                continue
            first, last = plan.frames[0], plan.frames[-1]
            entry = self.probe.entry(first)
            end = int(np.max(np.flatnonzero(
                (self.probe.packet_frame >= entry) & (self.probe.packet_frame <= last)
            )))  # fmt: skip
            start = entry if self.probe.clean[entry] else 0  # else: the file's start
            if merged and start <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    def _seek_start(self) -> int:
        """The packet the pass starts at: the first one a chunk needs, when it is a clean
        keyframe that timestamps let the demuxer seek to (packet k holds frame k there)."""
        starts = [r[0] for r in self.ranges] + [
            p.frames[0] for p, d in zip(self.plans, self.decoded, strict=True) if not d
        ]
        first = min(starts)
        return first if first > 0 and self.probe.by_pts and bool(self.probe.clean[first]) else 0

    def run(self) -> None:
        try:
            try:
                self._pass(self._seek_start())
            except _SeekMissed:
                self._pass(0)  # an imprecise index: read from the start instead
            for number, plan in enumerate(self.plans):
                if self.got[number] != len(plan.frames):
                    raise MediaError(
                        f"{self.probe.name}: the video is broken or truncated (frame "
                        f"{plan.frames[0]}..{plan.frames[-1]}: {self.got[number]} of "
                        f"{len(plan.frames)} frames could be read)"
                    )
        except BaseException:
            for writer in self.open:
                writer.abort()
            raise

    def _pass(self, seek_to: int) -> None:
        probe = self.probe
        last_needed = max(
            [r[1] for r in self.ranges]
            + [p.frames[-1] for p, d in zip(self.plans, self.decoded, strict=True) if not d]
        )
        ranges = iter(self.ranges)
        current = next(ranges, None)
        counted = 0
        total = len(probe.packet_frame)
        with _open(self.path, probe.name) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            decoder = stream.codec_context
            index = -1
            target = int(probe.frame_pts[seek_to]) if seek_to else None
            if target is not None:
                container.seek(target, stream=stream, backward=True)
            try:
                for packet in container.demux(stream):
                    if packet.size == 0:
                        continue
                    if target is not None:  # skip to the keyframe (nothing is written yet)
                        pts = packet.pts if packet.pts is not None else packet.dts
                        if index == -1 and (pts is None or pts > target):
                            raise _SeekMissed
                        index = -2
                        if packet.is_discard or pts != target:
                            continue
                        target, index = None, seek_to - 1
                    if packet.is_discard:  # not a frame, but may be needed to decode one
                        if current is not None and current[0] <= index + 1:
                            for frame in decoder.decode(packet):
                                counted = self._frame(frame, counted)
                        continue
                    index += 1
                    if index > last_needed:
                        break
                    if index % 32 == 0:
                        self.check()
                        self.progress(index / total)
                    if current is not None and current[0] <= index:
                        for frame in decoder.decode(packet):
                            counted = self._frame(frame, counted)
                        if index == current[1]:
                            for frame in decoder.decode(None):
                                counted = self._frame(frame, counted)
                            decoder.flush_buffers()
                            current = next(ranges, None)
                    self._remux(packet, index, stream)
                if target is not None:
                    raise _SeekMissed
                if current is not None:  # the file ended inside a range
                    for frame in decoder.decode(None):
                        counted = self._frame(frame, counted)
            except av.error.FFmpegError as exc:
                raise _broken(probe.name, exc) from None
        self._close_remux()
        for number in list(self.sinks):
            self._close_sinks(number)

    def _remux_target(self, number: int) -> Path | None:
        """Where a remuxed chunk's packets go: the original chunk, else (made on request
        for the compressed quality alone) the compressed mp4, which is the same file."""
        if self.out.original is not None:
            return self.out.original(number)
        if self.out.compressed is not None and self.out.compressed_kind == "video":
            return self.out.compressed(number)
        return None

    def _remux(self, packet: Any, index: int, stream: Any) -> None:
        number = int(self.chunk_of[int(self.probe.packet_frame[index])])
        if number < 0 or not self.plans[number].remux:
            return
        target = self._remux_target(number)
        if target is None:
            return
        plan = self.plans[number]
        start, end = plan.frames[0], plan.frames[-1] + 1
        # A clean cut point: the chunk's packets are exactly packets start..end-1.
        chunk_pts = self.probe.frame_pts[start:end]
        if number != self.remux_chunk:
            self._close_remux()
            self.remux = RemuxWriter(target, stream, int(chunk_pts[0]))
            self.open.append(self.remux)
            self.remux_chunk = number
            # Decode timestamps are re-derived from the presentation ones (some demuxers
            # give none): the i-th smallest pts, shifted back so that dts <= pts holds.
            packet_pts = self.probe.frame_pts[self.probe.packet_frame[start:end]]
            self.dts_shift = int(np.max(chunk_pts - packet_pts))
        assert self.remux is not None
        self.remux.add(packet, int(chunk_pts[index - start]) - self.dts_shift)
        if self.remux.count == len(plan.frames):
            self._close_remux()
            if not self.decoded[number]:
                self.got[number] = len(plan.frames)
            if self.out.compressed is not None and self.out.compressed_kind == "video":
                link_or_copy(target, self.out.compressed(number))

    def _close_remux(self) -> None:
        if self.remux is not None:
            self.remux.close()
            self.open.remove(self.remux)
            self.remux = None

    def _frame(self, frame: Any, counted: int) -> int:
        number = self.probe.frame_of(frame.pts, counted)
        counted += 1
        if number < 0:
            return counted
        chunk = int(self.chunk_of[number])
        if chunk < 0 or not self.decoded[chunk]:
            return counted
        for earlier in [n for n in self.sinks if n < chunk]:
            self._close_sinks(earlier)
        sinks = self.sinks.get(chunk)
        if sinks is None:
            sinks = self.sinks[chunk] = self._open_sinks(chunk)
        # Turned once here when needed by both writers; else each converts what it needs.
        image = upright_bgr(frame, self.probe.rotation) if self.probe.rotation else None
        for sink in sinks:
            sink.add(frame, image)
        self.got[chunk] += 1
        if self.got[chunk] == len(self.plans[chunk].frames):
            self._close_sinks(chunk)
        return counted

    def _open_sinks(self, number: int) -> list[FrameSink]:
        probe, out = self.probe, self.out
        sinks: list[Any] = []

        def mp4(target: Path, quality: int, compressed: bool) -> Mp4Writer:
            return Mp4Writer(
                target, quality=quality, fps=probe.fps, width=probe.width, height=probe.height,
                compressed=compressed, rotation=probe.rotation,
            )  # fmt: skip

        remux = self.plans[number].remux
        if out.original is not None and not remux:
            sinks.append(mp4(out.original(number), ORIGINAL_QUALITY, False))
        if out.compressed is not None and out.compressed_kind == "imageset":
            sinks.append(JpegZipWriter(
                out.compressed(number), quality=out.quality, rotation=probe.rotation,
                pool=self.pool,
            ))  # fmt: skip
        elif out.compressed is not None and not remux:
            sinks.append(mp4(out.compressed(number), out.quality, True))
        self.open.extend(sinks)
        return sinks

    def _close_sinks(self, number: int) -> None:
        for sink in self.sinks.pop(number, []):
            sink.close()
            self.open.remove(sink)


def link_or_copy(src: Path, dst: Path) -> None:
    """`dst` as a hard link to `src` (a copy across file systems)."""
    if src == dst:
        return
    dst.unlink(missing_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


# --- reading chunks back -------------------------------------------------------------------


def chunk_frames(chunk: Path | BinaryIO, wanted: Sequence[int]) -> Iterator[tuple[int, Any]]:
    """(position in chunk, av.VideoFrame) for the wanted positions of an mp4 chunk (a file
    or an open file; it starts at a keyframe): decode forward, stop after the last one."""
    wanted_set = set(wanted)
    last = max(wanted) if wanted else -1
    with av.open(str(chunk) if isinstance(chunk, Path) else chunk, "r") as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for position, frame in enumerate(container.decode(stream)):
            if position in wanted_set:
                yield position, frame
            if position >= last:
                return


def looks_like_video(path: Path) -> bool:
    """A cheap first look (before `is_video` opens the file): the signature of an
    ISO-BMFF (mp4/mov), EBML (mkv/webm) or RIFF AVI file."""
    with path.open("rb") as f:
        return video_signature(f.read(12))


def video_signature(head: bytes) -> bool:
    """Whether a file's first 12 bytes are those of an mp4/mov, mkv/webm or AVI file."""
    return (
        head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")
        or head.startswith(b"\x1a\x45\xdf\xa3")
        or (head.startswith(b"RIFF") and head[8:12] == b"AVI ")
    )
