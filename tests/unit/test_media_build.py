"""Building a data set: frame selection, decoding, chunks, preview and meta; failures and
cancellation leave nothing half-made to serve."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from backend.media.archive import ArchiveLimits
from backend.media.build import Cancelled, Received, build
from backend.media.images import MediaError
from backend.media.spec import DataParams, default_chunk_size
from backend.media.storage import TaskStorage


def write_png(path: Path, size: tuple[int, int], mode: str = "RGB") -> Path:
    Image.new(mode, size).save(path, format="PNG")
    return path


def received(tmp_path: Path, count: int) -> list[Received]:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    return [
        Received(f"f{i}.png", write_png(src / f"{i}", (10 + i, 8)), "image") for i in range(count)
    ]


def run(tmp_path: Path, files: list[Received], params: DataParams, **kw: object) -> object:
    storage = TaskStorage(tmp_path / "data", 1)
    return build(
        storage, storage.build_dir("rq"), files, params, limits=ArchiveLimits(),
        progress=kw.get("progress", lambda p: None),  # type: ignore[arg-type]
        check=kw.get("check", lambda: None),  # type: ignore[arg-type]
    )  # fmt: skip


def test_build_writes_frames_chunks_preview_and_meta(tmp_path: Path) -> None:
    seen: list[float] = []
    stored = run(tmp_path, received(tmp_path, 5), DataParams(chunk_size=2), progress=seen.append)
    storage = TaskStorage(tmp_path / "data", 1)
    out = storage.build_dir("rq")
    assert stored.spec.size == 5 and stored.spec.chunk_size == 2  # type: ignore[attr-defined]
    assert storage.meta_path(out).is_file() and storage.preview(out).is_file()
    for quality, n in (("compressed", 3), ("original", 3)):
        files = sorted((out / "chunks" / quality).iterdir())
        assert [f.name for f in files] == [f"{i}.zip" for i in range(n)]
    with zipfile.ZipFile(storage.chunk("compressed", 2, out)) as zf:
        (member,) = zf.infolist()
        with Image.open(io.BytesIO(zf.read(member))) as image:
            assert image.format == "JPEG" and image.size == (14, 8)
    assert not (out / "work").exists()
    assert seen and seen == sorted(seen) and seen[-1] == 0.99


def test_modes_without_rgb_become_rgb_jpegs(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    files = [
        Received("a.png", write_png(src / "a", (6, 6), "RGBA"), "image"),
        Received("b.png", write_png(src / "b", (6, 6), "I;16"), "image"),
        Received("c.png", write_png(src / "c", (6, 6), "P"), "image"),
    ]
    stored = run(tmp_path, files, DataParams())
    assert stored.spec.size == 3  # type: ignore[attr-defined]


def test_default_chunk_size_follows_the_frame_area() -> None:
    assert default_chunk_size(1920, 1080) == 36
    assert default_chunk_size(3840, 2160) == 9
    assert default_chunk_size(100, 100) == 72
    assert default_chunk_size(10000, 10000) == 2


def test_start_beyond_the_images_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="start_frame"):
        run(tmp_path, received(tmp_path, 2), DataParams(start_frame=2))


def test_truncated_image_fails_naming_it(tmp_path: Path) -> None:
    files = received(tmp_path, 2)
    data = files[1].path.read_bytes()
    files[1].path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match=r"f1\.png"):
        run(tmp_path, files, DataParams())


def test_cancellation_stops_the_build(tmp_path: Path) -> None:
    calls = 0

    def check() -> None:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise Cancelled

    with pytest.raises(Cancelled):
        run(tmp_path, received(tmp_path, 20), DataParams(), check=check)
