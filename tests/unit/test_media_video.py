"""Video probing, keyframe-aware reading and chunk cutting (backend/media/video.py) on
small videos generated here with PyAV, checked against plain decoding of the same file."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from backend.media import archive, build, video
from backend.media.build import Cancelled, Received
from backend.media.images import MediaError
from backend.media.spec import DataParams, default_chunk_size
from backend.media.storage import TaskStorage

W, H = 128, 96
BITS = 8  # the frame number is drawn as 8 black/white bars along the bottom

FORMATS = [  # (encoder, file suffix)
    ("libx264", ".mp4"),
    ("libx264", ".mkv"),
    ("mpeg4", ".avi"),
    ("libvpx", ".webm"),
    ("libvpx-vp9", ".webm"),
]


def picture(number: int, width: int = W, height: int = H) -> np.ndarray:
    """An RGB frame that says its number: bars along the bottom quarter (bit i = bar i
    white) and a green top-left quadrant (to check orientation)."""
    image = np.full((height, width, 3), 90, np.uint8)
    image[: height // 2, : width // 2] = (0, 220, 0)
    bar = width // BITS
    for bit in range(BITS):
        value = 255 if number >> bit & 1 else 0
        image[height * 3 // 4 :, bit * bar : (bit + 1) * bar] = value
    return image


def number_of(rgb: np.ndarray) -> int:
    """The number `picture` drew (robust to lossy coding)."""
    height, width = rgb.shape[:2]
    bar = width // BITS
    row = height * 7 // 8
    bits = [int(rgb[row, bit * bar + bar // 2].mean() > 128) for bit in range(BITS)]
    return sum(b << i for i, b in enumerate(bits))


def make_video(
    path: Path, codec: str = "libx264", frames: int = 50, gop: int = 10, *,
    fps: int = 25, rotation: int | None = None, bframes: int = 2,
    width: int = W, height: int = H,
) -> Path:  # fmt: skip
    """A video whose frame i shows `picture(i)`, with a keyframe every `gop` frames."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        if codec == "libx264":
            params = f"keyint={gop}:min-keyint={gop}:scenecut=0"
            stream.options = {"x264-params": params, "bf": str(bframes), "preset": "fast"}
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(picture(i, width, height), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def numbers(path: Path) -> list[int]:
    return [number_of(image) for image in decoded(path)]


def cut_to(tmp: Path, source: Path, probe: video.Probe, plans: list[video.ChunkPlan],
           kind: video.ChunkKind = "video") -> video.CutOutput:  # fmt: skip
    out = video.CutOutput(
        original=lambda n: tmp / f"orig-{n}.mp4",
        compressed=lambda n: tmp / (f"comp-{n}.mp4" if kind == "video" else f"comp-{n}.zip"),
        compressed_kind=kind, quality=80,
    )  # fmt: skip
    seen: list[float] = []
    video.cut(source, probe, plans, out, progress=seen.append, check=lambda: None)
    assert seen == sorted(seen) and all(0 <= p <= 1 for p in seen)
    return out


@pytest.mark.parametrize(("codec", "suffix"), FORMATS)
def test_probe_counts_frames_as_decoding_does(tmp_path: Path, codec: str, suffix: str) -> None:
    path = make_video(tmp_path / f"v{suffix}", codec, frames=47, gop=10)
    probe = video.probe(path, "clip" + suffix)
    assert probe.frame_count == len(decoded(path)) == 47
    assert (probe.width, probe.height, probe.rotation) == (W, H, 0)
    assert probe.fps == 25
    assert probe.codec == av.Codec(codec, "w").name.replace("libvpx-vp9", "vp9").replace(
        "libvpx", "vp8").replace("libx264", "h264")  # fmt: skip
    assert probe.keyframes == [0, 10, 20, 30, 40]
    assert probe.remuxable == (codec == "libx264")


@pytest.mark.parametrize(("codec", "suffix"), FORMATS)
def test_read_frames_seeks_to_the_keyframe_before(tmp_path: Path, codec: str, suffix: str) -> None:
    path = make_video(tmp_path / f"v{suffix}", codec, frames=40, gop=10)
    probe = video.probe(path, "v")
    source = decoded(path)
    got = list(video.read_frames(path, probe, [23, 25, 37]))
    assert [n for n, _ in got] == [23, 25, 37]
    for number, frame in got:
        assert np.array_equal(frame.to_ndarray(format="rgb24"), source[number])


def test_remuxed_chunks_hold_exactly_the_source_frames(tmp_path: Path) -> None:
    """H.264 with B-frames, chunk boundaries on keyframes: packets are copied, and each
    chunk decodes to exactly the source's frames (bit-exact: no re-encoding)."""
    path = make_video(tmp_path / "v.mp4", frames=50, gop=10, bframes=2)
    probe = video.probe(path, "v.mp4")
    frames = range(0, 50)
    assert video.default_chunk_size(probe, frames, 36) == 30  # 3 GOPs
    plans = video.plan_chunks(probe, frames, 20)
    assert [(p.frames, p.remux) for p in plans] == [
        (range(0, 20), True),
        (range(20, 40), True),
        (range(40, 50), True),
    ]
    out = cut_to(tmp_path, path, probe, plans)
    source = decoded(path)
    for n, plan in enumerate(plans):
        chunk = decoded(out.original(n))
        assert len(chunk) == len(plan.frames)
        for image, f in zip(chunk, plan.frames, strict=True):
            assert np.array_equal(image, source[f])
        # the compressed chunk is the same file (a remuxed chunk is not re-encoded)
        assert out.compressed(n).read_bytes() == out.original(n).read_bytes()


def test_mkv_without_decode_timestamps_is_remuxed(tmp_path: Path) -> None:
    path = make_video(tmp_path / "v.mkv", frames=30, gop=10, bframes=2)
    probe = video.probe(path, "v.mkv")
    plans = video.plan_chunks(probe, range(0, 30), 10)
    assert all(p.remux for p in plans)
    out = cut_to(tmp_path, path, probe, plans)
    assert [numbers(out.original(n)) for n in range(3)] == [
        list(range(0, 10)),
        list(range(10, 20)),
        list(range(20, 30)),
    ]


def test_frames_cut_by_an_edit_list_are_not_frames(tmp_path: Path) -> None:
    """An mp4 whose edit list starts two frames in (as cameras and editors write them):
    the demuxer marks those packets discard; they are no frames, yet needed to decode."""
    path = tmp_path / "edit.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"x264-params": "keyint=10:min-keyint=10:scenecut=0", "bf": "2"}
        packets = []
        for i in range(30):
            frame = av.VideoFrame.from_ndarray(picture(i), format="rgb24")
            packets += stream.encode(frame)
        packets += stream.encode(None)
        for packet in packets:
            packet.pts -= 2
            packet.dts -= 2
            container.mux(packet)
    probe = video.probe(path, "edit.mp4")
    assert probe.frame_count == len(decoded(path)) == 28
    assert probe.keyframes == [8, 18]  # source frames 10 and 20
    assert [n for n, _ in video.read_frames(path, probe, [0, 9])] == [0, 9]
    plans = video.plan_chunks(probe, range(0, 28), 10)
    assert [p.remux for p in plans] == [False, False, False]
    out = cut_to(tmp_path, path, probe, plans)
    assert [numbers(out.original(n)) for n in range(3)] == [
        list(range(2, 12)),
        list(range(12, 22)),
        list(range(22, 30)),
    ]
    plans = [video.ChunkPlan(range(0, 8), False), video.ChunkPlan(range(8, 18), True)]
    out = cut_to(tmp_path, path, probe, plans)
    assert [numbers(out.original(n)) for n in range(2)] == [list(range(2, 10)), list(range(10, 20))]


def test_chunks_off_keyframes_are_reencoded_and_mixed_with_remuxed(tmp_path: Path) -> None:
    path = make_video(tmp_path / "v.mp4", frames=50, gop=10)
    probe = video.probe(path, "v.mp4")
    plans = [
        video.ChunkPlan(range(0, 10), True),
        video.ChunkPlan(range(10, 15), False),  # ends inside a GOP
        video.ChunkPlan(range(15, 20), False),  # starts inside one: decoded from 10
        video.ChunkPlan(range(20, 30), True),
        video.ChunkPlan(range(33, 41, 2), False),  # a step, after a remuxed gap
    ]
    out = cut_to(tmp_path, path, probe, plans)
    for n, plan in enumerate(plans):
        assert numbers(out.original(n)) == list(plan.frames)
        assert numbers(out.compressed(n)) == list(plan.frames)
    with av.open(str(out.compressed(1))) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.profile in ("Baseline", "Constrained Baseline")


def test_plan_remuxes_only_chunks_between_keyframes(tmp_path: Path) -> None:
    path = make_video(tmp_path / "v.mp4", frames=45, gop=10)
    probe = video.probe(path, "v.mp4")
    assert [p.remux for p in video.plan_chunks(probe, range(0, 45), 20)] == [True, True, True]
    assert [p.remux for p in video.plan_chunks(probe, range(0, 40), 15)] == [False, False, True]
    assert [p.remux for p in video.plan_chunks(probe, range(10, 36), 10)] == [True, True, False]
    assert not any(p.remux for p in video.plan_chunks(probe, range(0, 45, 2), 10))
    assert video.default_chunk_size(probe, range(0, 45, 2), 36) == 36
    assert video.default_chunk_size(probe, range(5, 45), 36) == 36  # start off a keyframe
    long_gop = make_video(tmp_path / "long.mp4", frames=120, gop=50)
    assert video.default_chunk_size(video.probe(long_gop, "l"), range(0, 120), 36) == 50


@pytest.mark.parametrize(("codec", "suffix"), FORMATS[2:])
def test_other_codecs_are_reencoded_to_h264(tmp_path: Path, codec: str, suffix: str) -> None:
    path = make_video(tmp_path / f"v{suffix}", codec, frames=25, gop=10)
    probe = video.probe(path, "v")
    plans = video.plan_chunks(probe, range(2, 25), 10)
    out = cut_to(tmp_path, path, probe, plans)
    assert [numbers(out.original(n)) for n in range(3)] == [
        list(range(2, 12)),
        list(range(12, 22)),
        list(range(22, 25)),
    ]


def test_jpeg_zip_chunks(tmp_path: Path) -> None:
    import zipfile

    import cv2

    path = make_video(tmp_path / "v.mp4", frames=30, gop=10)
    probe = video.probe(path, "v.mp4")
    plans = video.plan_chunks(probe, range(0, 30), 10)
    out = cut_to(tmp_path, path, probe, plans, kind="imageset")
    for n in range(3):
        assert numbers(out.original(n)) == list(range(n * 10, n * 10 + 10))  # still remuxed
        with zipfile.ZipFile(out.compressed(n)) as zf:
            names = zf.namelist()
            assert names == [f"{i:06d}.jpeg" for i in range(10)]
            got = [number_of(cv2.imdecode(np.frombuffer(zf.read(m), np.uint8), cv2.IMREAD_COLOR))
                   for m in names]  # fmt: skip
        assert got == list(range(n * 10, n * 10 + 10))


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotation_is_applied(tmp_path: Path, rotation: int) -> None:
    path = make_video(tmp_path / "r.mp4", frames=12, gop=6, rotation=rotation)
    probe = video.probe(path, "r.mp4")
    ccw = rotation % 360
    assert probe.rotation == ccw
    assert (probe.width, probe.height) == ((H, W) if ccw in (90, 270) else (W, H))
    assert not probe.remuxable
    plans = video.plan_chunks(probe, range(0, 12), 6)
    out = cut_to(tmp_path, path, probe, plans)
    chunk = decoded(out.original(1))
    assert len(chunk) == 6 and chunk[0].shape[:2] == (probe.height, probe.width)
    # upright = the stored picture turned counter-clockwise by `rotation`
    expected = np.rot90(picture(6), ccw // 90)
    assert np.abs(chunk[0].astype(int) - expected.astype(int)).mean() < 6


def test_truncated_and_garbage_videos_fail_naming_the_file(tmp_path: Path) -> None:
    path = make_video(tmp_path / "v.mp4", frames=60, gop=10)
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])  # moov (the index) is at the end: lost
    with pytest.raises(MediaError, match=r"^holiday\.mp4: "):
        video.probe(cut, "holiday.mp4")
    mkv = make_video(tmp_path / "v.mkv", frames=60, gop=10)
    cut_mkv = tmp_path / "cut.mkv"
    cut_mkv.write_bytes(mkv.read_bytes()[:-300])
    probe = video.probe(cut_mkv, "cut.mkv")  # a cut mkv still plays: fewer frames
    assert probe.frame_count == len(decoded(cut_mkv)) < 60
    garbage = tmp_path / "g.mp4"
    garbage.write_bytes(data[:64] + bytes(range(256)) * 40)
    with pytest.raises(MediaError, match=r"^g\.mp4: "):
        video.probe(garbage, "g.mp4")


def test_sniffing_by_content(tmp_path: Path) -> None:
    from backend.media import images

    for codec, suffix in FORMATS:
        path = make_video(tmp_path / f"v-{codec}{suffix}", codec, frames=5, gop=5)
        named = tmp_path / "no-extension"
        path.rename(named)
        assert video.looks_like_video(named) and images.sniff(named, "x") == "video"
        named.unlink()
    text = tmp_path / "t.mp4"
    text.write_bytes(b"not a video at all, just text" * 10)
    with pytest.raises(MediaError, match=r"^t\.mp4: not an image, a video"):
        images.sniff(text, "t.mp4")


def _build(tmp_path: Path, files: list[tuple[str, Path]], check: Any = None,
           **params: Any) -> tuple[TaskStorage, Any]:  # fmt: skip
    storage = TaskStorage(tmp_path / "data", 1)
    out = storage.build_dir(uuid.uuid4().hex)
    progress: list[float] = []
    stored = build.build(
        storage, out, [Received(name, path, "video") for name, path in files],
        DataParams(**params), limits=archive.ArchiveLimits(max_unpacked_bytes=2**30),
        progress=progress.append, check=check or (lambda: None),
    )  # fmt: skip
    assert progress == sorted(progress) and progress[-1] >= 0.95
    return storage, (out, stored)


def test_build_selects_frames_and_records_the_video(tmp_path: Path) -> None:
    path = make_video(tmp_path / "v.mp4", frames=50, gop=10)
    storage, (out, stored) = _build(
        tmp_path, [("clip.mp4", path)], start_frame=10, stop_frame=44, frame_filter="step=3"
    )
    spec = stored.spec
    assert (spec.mode, spec.compressed_chunk_type, spec.original_chunk_type) == (
        "interpolation",
        "video",
        "video",
    )
    assert (spec.start_frame, spec.stop_frame, spec.size) == (10, 43, 12)
    assert [f.name for f in spec.frames][:2] == ["frame_000010", "frame_000013"]
    assert spec.video is not None and spec.video.frame_count == 50
    assert spec.chunk_size == 36 and spec.video.remuxed_chunks == 0
    assert numbers(storage.video_chunk("original", 0, out)) == list(range(10, 44, 3))
    assert storage.preview(out).is_file()
    assert not (out / "work").exists()


def test_default_chunk_size_follows_keyframes_for_mp4_and_the_frame_area_for_zips(
    tmp_path: Path,
) -> None:
    path = make_video(tmp_path / "v.mp4", frames=120, gop=50, width=640, height=480)
    _, (_, mp4) = _build(tmp_path / "a", [("clip.mp4", path)])
    assert mp4.spec.chunk_size == 50 and mp4.spec.video.remuxed_chunks == 3  # no cap past 36
    storage, (out, zipped) = _build(tmp_path / "b", [("clip.mp4", path)], use_zip_chunks=True)
    assert zipped.spec.chunk_size == default_chunk_size(640, 480) == 72
    assert storage.source_video(out).read_bytes() == path.read_bytes()  # kept for backups


def test_build_refuses_a_video_with_other_files(tmp_path: Path) -> None:
    a = make_video(tmp_path / "a.mp4", frames=5, gop=5)
    b = make_video(tmp_path / "b.webm", "libvpx", frames=5, gop=5)
    with pytest.raises(MediaError, match=r"a\.mp4: a task takes one video .*b\.webm"):
        _build(tmp_path, [("a.mp4", a), ("b.webm", b)])
    with pytest.raises(MediaError, match=r"start_frame 9 is beyond the last frame of a\.mp4"):
        _build(tmp_path, [("a.mp4", a)], start_frame=9)


def test_build_is_cancellable(tmp_path: Path) -> None:
    path = make_video(tmp_path / "v.mp4", frames=120, gop=10)
    calls = 0

    def check() -> None:
        nonlocal calls
        calls += 1
        if calls > 2:
            raise Cancelled

    with pytest.raises(Cancelled):
        _build(tmp_path, [("v.mp4", path)], check=check, chunk_size=7)
    assert not list((tmp_path / "data").rglob("*.part"))


# --- use_cache: chunks cut on request from the kept video ------------------------------


def _chunk_frames(chunk: Any) -> list[np.ndarray]:
    """Decoded frames of a chunk (mp4 or JPEG zip; a path or an open file), RGB."""
    import io
    import zipfile

    data = chunk.read_bytes() if isinstance(chunk, Path) else chunk.read()
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return [np.asarray(Image.open(zf.open(m)).convert("RGB")) for m in zf.infolist()]
    with av.open(io.BytesIO(data)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _published(tmp_path: Path, name: str, files: list[tuple[str, Path]],
               **params: Any) -> tuple[TaskStorage, Any]:  # fmt: skip
    storage = TaskStorage(tmp_path / name, 1)
    out = storage.build_dir(uuid.uuid4().hex)
    stored = build.build(
        storage, out, [Received(n, p, "video") for n, p in files], DataParams(**params),
        limits=archive.ArchiveLimits(), progress=lambda _: None, check=lambda: None,
    )  # fmt: skip
    storage.publish(out)
    return storage, stored


CACHE_CASES = [  # (encoder, suffix, build parameters): remuxed, re-encoded, zipped, stepped
    ("libx264", ".mp4", {}),
    ("libx264", ".mp4", {"chunk_size": 7, "start_frame": 3}),
    ("libx264", ".mkv", {"use_zip_chunks": True, "chunk_size": 10}),
    ("libvpx", ".webm", {"chunk_size": 8, "frame_filter": "step=2", "stop_frame": 45}),
    ("mpeg4", ".avi", {"chunk_size": 10, "start_frame": 20}),
    ("libx264", ".mp4", {"chunk_size": 10, "rotation": 90}),
]


@pytest.mark.parametrize(("codec", "suffix", "params"), CACHE_CASES)
def test_use_cache_chunks_are_those_of_a_prebuilt_task(
    tmp_path: Path, codec: str, suffix: str, params: dict[str, Any]
) -> None:
    """Every chunk of both qualities, every frame and a job chunk of a use_cache task
    decode to exactly what the prebuilt task of the same video serves; nothing but the
    video, its probe, the preview and the manifest is written at creation."""
    from backend.media import chunk_cache, serving

    rotation = params.pop("rotation", None)
    path = make_video(tmp_path / f"v{suffix}", codec, frames=50, gop=10, rotation=rotation)
    files = [("clip" + suffix, path)]
    built, prebuilt = _published(tmp_path, "prebuilt", files, **params)
    lazy, on_the_fly = _published(tmp_path, "cache", files, use_cache=True, **params)
    assert on_the_fly.spec.video.on_the_fly and on_the_fly.spec.storage_method == "cache"
    assert prebuilt.spec.storage_method == "file_system"
    assert on_the_fly.spec.frames == prebuilt.spec.frames
    assert on_the_fly.spec.chunk_size == prebuilt.spec.chunk_size
    assert not (lazy.data_dir / "chunks").exists()
    assert sorted(p.name for p in lazy.data_dir.rglob("*") if p.is_file()) == [
        "manifest.jsonl", "meta.json", "preview.jpeg", "probe.npz", "source",
    ]  # fmt: skip
    cache = chunk_cache.ChunkCache(tmp_path / "cache-dir", 2**30)
    chunks = serving.chunk_count(prebuilt.spec.size, prebuilt.spec.chunk_size)
    for quality in ("compressed", "original"):
        for n in range(chunks):
            want = _chunk_frames(serving.task_chunk(built, prebuilt, n, quality, cache))
            with serving.task_chunk(lazy, on_the_fly, n, quality, cache) as got:
                assert isinstance(got, io.BufferedReader)
                frames = _chunk_frames(got)
            assert len(frames) == len(want) > 0
            assert all(np.array_equal(a, b) for a, b in zip(frames, want, strict=True)), (
                quality, n)  # fmt: skip
    for number in (0, prebuilt.spec.size // 2, prebuilt.spec.size - 1):
        for quality in ("compressed", "original"):
            want, _ = serving.frame(built, prebuilt, number, quality, cache)
            got, _ = serving.frame(lazy, on_the_fly, number, quality, cache)
            with want, got:
                assert want.read() == got.read()
    job = {"start_frame": 2, "stop_frame": prebuilt.spec.size - 2, "frames": None}
    for quality in ("compressed", "original"):
        want = serving.job_chunk(built, prebuilt, job, quality, index=0, cache=cache)
        got = serving.job_chunk(lazy, on_the_fly, job, quality, index=0, cache=cache)
        with want, got:
            assert want.read() == got.read()


def test_an_evicted_chunk_is_cut_again_identically(tmp_path: Path) -> None:
    from backend.media import chunk_cache, serving

    path = make_video(tmp_path / "v.mp4", frames=60, gop=10)
    storage, stored = _published(tmp_path, "t", [("v.mp4", path)], use_cache=True, chunk_size=15)
    big = chunk_cache.ChunkCache(tmp_path / "big", 2**30)
    sizes = []
    for n in (1, 2):
        with serving.task_chunk(storage, stored, n, "compressed", big) as f:
            sizes.append(len(f.read()))
    small = chunk_cache.ChunkCache(tmp_path / "small", max(sizes) + 1)  # room for one chunk
    with serving.task_chunk(storage, stored, 1, "compressed", small) as f:
        first = f.read()
    with serving.task_chunk(storage, stored, 2, "compressed", small) as f:
        f.read()
    assert not any(key.endswith("/compressed/1") for key in small.keys_by_use())  # evicted
    with serving.task_chunk(storage, stored, 1, "compressed", small) as f:
        assert f.read() == first
    assert any(key.endswith("/compressed/1") for key in small.keys_by_use())


def test_a_chunk_cut_on_request_starts_with_a_seek(tmp_path: Path) -> None:
    """The pass for a chunk late in the video starts at the keyframe before it, not at
    the file's start: the demuxer is asked for fewer packets than the file has."""
    path = make_video(tmp_path / "v.mp4", frames=200, gop=10)
    probe = video.probe(path, "v.mp4")
    plan = video.ChunkPlan(range(185, 195), False)  # re-encoded: decoded from frame 180
    counted: list[int] = []
    real_demux = av.container.InputContainer.demux

    def demux(self: Any, *args: Any, **kwargs: Any) -> Any:
        for packet in real_demux(self, *args, **kwargs):
            counted.append(1)
            yield packet

    out = video.CutOutput(original=lambda _: tmp_path / "o.mp4", compressed=None,
                          compressed_kind="video", quality=70)  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(av.container.InputContainer, "demux", demux)
        video.cut(path, probe, [plan], out, progress=lambda _: None, check=lambda: None)
    assert numbers(tmp_path / "o.mp4") == list(range(185, 195))
    assert 0 < len(counted) <= 30  # 180..194 and what the demuxer reads ahead


def test_a_seek_that_lands_past_the_keyframe_reads_from_the_start(tmp_path: Path) -> None:
    """An imprecise index (the demuxer lands after the wanted keyframe): the pass notices
    before writing anything and reads the file from its start instead."""
    path = make_video(tmp_path / "v.mp4", frames=60, gop=10)
    probe = video.probe(path, "v.mp4")
    real_seek = av.container.InputContainer.seek
    seeks: list[int] = []

    def seek_too_far(self: Any, offset: int, **kwargs: Any) -> None:
        seeks.append(offset)
        real_seek(self, int(probe.frame_pts[50]), **kwargs)

    out = video.CutOutput(original=lambda _: tmp_path / "o.mp4", compressed=None,
                          compressed_kind="video", quality=70)  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(av.container.InputContainer, "seek", seek_too_far)
        video.cut(path, probe, [video.ChunkPlan(range(22, 31), False)], out,
                  progress=lambda _: None, check=lambda: None)  # fmt: skip
    assert seeks == [int(probe.frame_pts[20])]
    assert numbers(tmp_path / "o.mp4") == list(range(22, 31))


def test_sparse_keyframes_prebuild_and_say_why(tmp_path: Path) -> None:
    path = make_video(tmp_path / "v.mp4", frames=120, gop=100)
    storage, stored = _published(tmp_path, "t", [("v.mp4", path)], use_cache=True, chunk_size=10)
    spec = stored.spec
    assert spec.video is not None and not spec.video.on_the_fly
    assert (spec.storage_method, spec.use_cache) == ("file_system", False)
    assert spec.video.prebuilt_reason.startswith(
        "v.mp4: too few keyframes for smooth video decoding (90 frames before a chunk's "
        "first frame would be decoded; at most 30, 3 x chunk size)"
    )
    assert storage.video_chunk("original", 11).is_file()
    assert not storage.video_probe().exists()  # nothing is cut on request
    # a chunk size that keeps the lead-in short enough: cut on request
    _, stored = _published(tmp_path, "u", [("v.mp4", path)], use_cache=True, chunk_size=40)
    assert stored.spec.video is not None and stored.spec.video.on_the_fly


# --- manifest.jsonl --------------------------------------------------------------------


def test_every_video_task_writes_a_video_manifest(tmp_path: Path) -> None:
    from backend.media import manifest

    path = make_video(tmp_path / "v.mp4", frames=50, gop=10, rotation=90)
    for use_cache in (False, True):
        storage, _ = _published(tmp_path, f"t{use_cache}", [("dir/clip.mp4", path)],
                                use_cache=use_cache)  # fmt: skip
        lines = storage.manifest().read_text().splitlines()
        assert lines[:3] == [
            '{"version":"1.0"}', '{"type":"video"}',
            f'{{"properties":{{"name":"clip.mp4","resolution":[{H},{W}],"length":50}}}}',
        ]  # fmt: skip
        parsed = manifest.read_video(storage.manifest())
        probe = video.probe(path, "v.mp4")
        assert [(k.number, k.pts, k.checksum) for k in parsed.keyframes] == [
            (f, int(probe.frame_pts[f]), None) for f in (0, 10, 20, 30, 40)
        ]


def _manifest(path: Path, name: str = "clip.mp4", size: tuple[int, int] = (W, H),
              length: int = 50, keys: list[tuple[int, int]] | None = None) -> Path:  # fmt: skip
    import json

    lines = [
        {"version": "1.0"},
        {"type": "video"},
        {"properties": {"name": name, "resolution": list(size), "length": length}},
    ]
    for number, pts in keys if keys is not None else [(0, 0), (10, 5120)]:
        lines.append({"number": number, "pts": pts, "checksum": f"{number:032x}"})
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def test_a_given_manifest_must_describe_the_video(tmp_path: Path) -> None:
    from backend.media import manifest

    path = make_video(tmp_path / "v.mp4", frames=50, gop=10)
    probe = video.probe(path, "clip.mp4")
    keys = [(0, int(probe.frame_pts[0])), (10, int(probe.frame_pts[10]))]
    given = _manifest(tmp_path / "manifest.jsonl", keys=keys)
    files = [("clip.mp4", path), ("manifest.jsonl", given)]
    storage, stored = _published(tmp_path, "ok", files, use_cache=True)
    assert stored.spec.size == 50 and stored.spec.video.on_the_fly
    kept = manifest.read_video(storage.manifest())
    assert [(k.number, k.checksum) for k in kept.keyframes[:3]] == [
        (0, f"{0:032x}"), (10, f"{10:032x}"), (20, None)]  # fmt: skip

    bad = [
        ({"name": "other.mp4"}, r"line 3: the manifest describes other\.mp4, not clip\.mp4"),
        ({"size": (W, H + 2)}, rf"line 3: resolution {W}x{H + 2} in the manifest, but "
                               rf"clip\.mp4 is {W}x{H}"),
        ({"length": 49}, r"line 3: length 49 in the manifest, but clip\.mp4 has 50 frames"),
        ({"keys": [keys[0], (10, keys[1][1] + 1)]},
         rf"line 5: key frame 10 has pts {keys[1][1] + 1} in the manifest, but {keys[1][1]}"),
    ]  # fmt: skip
    for n, (change, message) in enumerate(bad):
        wrong = _manifest(tmp_path / f"m{n}.jsonl", **{"keys": keys, **change})
        with pytest.raises(MediaError, match=r"^manifest\.jsonl: " + message):
            _published(tmp_path, f"bad{n}", [("clip.mp4", path), ("manifest.jsonl", wrong)])
    with pytest.raises(MediaError, match=r"^No media data found: manifest\.jsonl is a manifest"):
        _published(tmp_path, "alone", [("manifest.jsonl", given)])
