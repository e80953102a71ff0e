"""Point clouds as CVAT takes them for 3D tasks: PCD files (recognised by their header)
and KITTI velodyne `.bin` scans (float32 x, y, z, intensity records; no magic, so a
`.bin` name and a size that is a whole number of records). A `.bin` becomes a binary PCD
with CVAT's header; frames are served as the PCD bytes and chunks are zips of PCDs."""

from __future__ import annotations

import io
import math
import os
import posixpath
import shutil
import struct
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal

from PIL import Image, ImageDraw

from backend.media import manifest
from backend.media.images import MediaError
from backend.media.related import store_context
from backend.media.spec import DataParams, FrameInfo, TaskDataSpec, default_chunk_size
from backend.media.storage import QUALITIES, StoredData, TaskStorage

PointCloudKind = Literal["pcd", "bin"]
# CVAT's mime type for .pcd frames (its media.mimetypes).
PCD_MIME = "image/x.point-cloud-data"
BIN_RECORD = 16  # x, y, z, intensity as float32
# PCD versions CVAT accepts (ValidateDimension.get_pcd_properties).
PCD_VERSIONS = {"0.7", "0.6", "0.5", "0.4", "0.3", "0.2", "0.1"}
_DATA_KINDS = {"ascii", "binary", "binary_compressed"}
_MAX_HEADER = 64 * 1024
_SIZES = {"I": {1, 2, 4, 8}, "U": {1, 2, 4, 8}, "F": {4, 8}}


class PcdHeader:
    """The parsed header of a PCD file: what CVAT reports (WIDTH, HEIGHT) and what the
    body must hold."""

    __slots__ = ("data", "fields", "height", "length", "points", "row_bytes", "width")

    def __init__(
        self, fields: list[str], width: int, height: int, points: int, data: str,
        row_bytes: int, length: int,
    ) -> None:  # fmt: skip
        self.fields = fields
        self.width = width
        self.height = height
        self.points = points
        self.data = data
        self.row_bytes = row_bytes
        self.length = length  # header bytes, up to and including the DATA line


def is_bin_name(name: str) -> bool:
    return posixpath.splitext(name)[1].lower() == ".bin"


def pcd_name(name: str) -> str:
    """The frame name of a point cloud: a `.bin` is served as the `.pcd` it becomes."""
    stem, ext = posixpath.splitext(name)
    return stem + ".pcd" if ext.lower() == ".bin" else name


def looks_like_pcd(head: bytes) -> bool:
    """A PCD starts with optional `#` comment lines, then `VERSION`."""
    for raw in head.split(b"\n"):
        line = raw.strip()
        if not line or line.startswith(b"#"):
            continue
        return line.startswith(b"VERSION")
    return False


def kind_of(path: Path, name: str) -> PointCloudKind | None:
    """'pcd' by content, 'bin' by name (checked by `check_bin`), else None."""
    with path.open("rb") as f:
        head = f.read(4096)
    if looks_like_pcd(head):
        return "pcd"
    if is_bin_name(name):
        return "bin"
    return None


def check_bin(size: int, name: str) -> None:
    if size <= 0 or size % BIN_RECORD:
        raise MediaError(
            f"{name}: not a KITTI point cloud (.bin files hold float32 x, y, z, intensity "
            f"records of {BIN_RECORD} bytes; this one has {size} bytes)"
        )


def validate(path: Path, name: str) -> PointCloudKind:
    """Check a point cloud file completely (header and body size); MediaError naming it."""
    kind = kind_of(path, name)
    if kind == "bin":
        check_bin(path.stat().st_size, name)
        return "bin"
    if kind is None:
        raise MediaError(f"{name}: not a PCD point cloud (no PCD header)")
    with path.open("rb") as f:
        header = read_header(f, name)
        check_body(f, header, path.stat().st_size, name)
    return "pcd"


def read_header(fp: IO[bytes], name: str) -> PcdHeader:
    """Parse and check a PCD header (the file positioned at its start)."""
    values: dict[str, list[str]] = {}
    length = 0
    while True:
        raw = fp.readline(_MAX_HEADER)
        length += len(raw)
        if not raw or length > _MAX_HEADER:
            raise _bad(name, "the header has no DATA line")
        try:
            line = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise _bad(name, "the header is not ASCII text") from None
        if not line or line.startswith("#"):
            continue
        key, *rest = line.split()
        values[key.upper()] = rest
        if key.upper() == "DATA":
            break
    return _checked(values, length, name)


def _checked(values: Mapping[str, list[str]], length: int, name: str) -> PcdHeader:
    for key in ("VERSION", "FIELDS", "SIZE", "TYPE", "WIDTH", "HEIGHT"):
        if not values.get(key):
            raise _bad(name, f"the header has no {key}")
    version = values["VERSION"][0]
    if version.removeprefix("0") not in {v.removeprefix("0") for v in PCD_VERSIONS}:
        raise _bad(name, f"unsupported VERSION {version}")
    fields = values["FIELDS"]
    sizes, types = values["SIZE"], values["TYPE"]
    counts = values.get("COUNT") or ["1"] * len(fields)
    if not len(sizes) == len(types) == len(counts) == len(fields):
        raise _bad(name, "FIELDS, SIZE, TYPE and COUNT do not have the same length")
    row_bytes = 0
    for field, size_text, type_text, count_text in zip(fields, sizes, types, counts, strict=True):
        size, count = _int(size_text, "SIZE", name), _int(count_text, "COUNT", name)
        if type_text.upper() not in _SIZES or size not in _SIZES[type_text.upper()] or count < 1:
            raise _bad(name, f"field {field} has an invalid SIZE/TYPE/COUNT")
        row_bytes += size * count
    width = _int(values["WIDTH"][0], "WIDTH", name)
    height = _int(values["HEIGHT"][0], "HEIGHT", name)
    if width < 1 or height < 1:
        raise _bad(name, "WIDTH and HEIGHT must be at least 1")
    points = width * height
    if values.get("POINTS") and _int(values["POINTS"][0], "POINTS", name) != points:
        raise _bad(name, f"POINTS is not WIDTH x HEIGHT ({points})")
    data = values["DATA"][0].lower() if values.get("DATA") else ""
    if data not in _DATA_KINDS:
        raise _bad(name, f"unknown DATA kind {data!r}")
    return PcdHeader(fields, width, height, points, data, row_bytes, length)


def check_body(fp: IO[bytes], header: PcdHeader, file_size: int, name: str) -> None:
    """The body holds at least the declared points (a truncated file is refused)."""
    body = file_size - header.length
    if header.data == "binary":
        if body < header.points * header.row_bytes:
            raise _bad(name, f"the data is shorter than {header.points} points")
    elif header.data == "binary_compressed":
        sizes = fp.read(8)
        if len(sizes) < 8:
            raise _bad(name, "the compressed data has no size header")
        compressed, uncompressed = struct.unpack("<II", sizes)
        if body - 8 < compressed or uncompressed != header.points * header.row_bytes:
            raise _bad(name, "the compressed data does not match the header")
    else:
        lines = 0
        tail = b""
        while block := fp.read(1024 * 1024):
            lines += block.count(b"\n")
            tail = block
        if tail and not tail.endswith(b"\n"):
            lines += 1
        if lines < header.points:
            raise _bad(name, f"{lines} data lines for {header.points} points")


def _int(text: str, key: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _bad(name, f"{key} {text!r} is not an integer") from None


def _bad(name: str, why: str) -> MediaError:
    return MediaError(f"{name}: not a valid PCD point cloud ({why})")


def is_archive_member(name: str, head: bytes) -> bool:
    """Whether an archive member is a point cloud, from its name and first bytes: a PCD
    header (checked here; the body when the task is built) or a `.bin` (its size is
    checked when the task is built). MediaError naming it for a broken header."""
    if looks_like_pcd(head[:4096]):
        read_header(io.BytesIO(head), name)
        return True
    return is_bin_name(name)


def header_of(path: Path, name: str) -> PcdHeader:
    with path.open("rb") as f:
        return read_header(f, name)


# --- .bin -> .pcd --------------------------------------------------------------------------


def bin_header(points: int) -> bytes:
    """CVAT's header for a converted KITTI scan (ValidateDimension.convert_bin_to_pcd)."""
    lines = [
        "VERSION 0.7", "FIELDS x y z intensity", "SIZE 4 4 4 4", "TYPE F F F F",
        "COUNT 1 1 1 1", f"WIDTH {points}", "HEIGHT 1", "VIEWPOINT 0 0 0 1 0 0 0",
        f"POINTS {points}", "DATA binary",
    ]  # fmt: skip
    return "".join(f"{line}\n" for line in lines).encode()


def bin_to_pcd(src: Path, dst: Path, name: str) -> None:
    """A binary PCD holding the scan's float32 records unchanged (little-endian, as KITTI
    writes them and as CVAT copies them)."""
    size = src.stat().st_size
    check_bin(size, name)
    with src.open("rb") as scan, dst.open("wb") as out:
        out.write(bin_header(size // BIN_RECORD))
        shutil.copyfileobj(scan, out, 1024 * 1024)  # the records as they are


# --- preview --------------------------------------------------------------------------------


def placeholder_preview() -> bytes:
    """CVAT shows a fixed picture (assets/3d_preview.jpeg) as the preview of a 3D task
    and its jobs; this is ours, drawn once per task: a dark square with a cube outline."""
    image = Image.new("RGB", (256, 256), (38, 41, 48))
    draw = ImageDraw.Draw(image)
    front = [(70, 100), (160, 100), (160, 190), (70, 190)]
    back = [(x + 35, y - 35) for x, y in front]
    colour = (120, 200, 255)
    for face in (front, back):
        draw.polygon(face, outline=colour, width=3)
    for a, b in zip(front, back, strict=True):
        draw.line([a, b], fill=colour, width=3)
    draw.text((110, 215), "3D", fill=(220, 220, 220))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


# --- the builder ------------------------------------------------------------------------------


def build_pointclouds(
    storage: TaskStorage, out: Path, frames_src: list[tuple[str, Path]], params: DataParams,
    *, start: int, stop: int, related: Mapping[str, list[tuple[str, Path]]],
    progress: Callable[[float], None], check: Callable[[], None],
) -> StoredData:  # fmt: skip
    """A 3D data set from the selected point clouds (frame name, file): the PCD of each
    frame (converted from .bin where needed) is both qualities of the frame; chunks are
    zips of PCDs; each frame's context images are stored beside."""
    # build.py imports this module to dispatch to this builder
    from backend.media.build import write_chunk

    original_dir = storage.original_frame("", out)
    original_dir.mkdir(parents=True, exist_ok=True)
    frames: list[FrameInfo] = []
    original_files: list[str] = []
    items: list[manifest.ImageItem] = []
    total = len(frames_src)
    for number, (name, path) in enumerate(frames_src):
        target = original_dir / f"{number:06d}.pcd"
        if kind_of(path, name) == "pcd":
            validate(path, name)
            _link_or_copy(path, target)
        else:
            bin_to_pcd(path, target, name)
        header = header_of(target, name)
        context = related.get(name, [])
        related_count = store_context(storage, out, number, context)
        frames.append(FrameInfo(name, header.width, header.height, related_count))
        # CVAT's 3D manifest lines carry no size or checksum, only the context images
        items.append(manifest.image_item(name, None, None, related_images=[n for n, _ in context]))
        original_files.append(target.name)
        if number % 8 == 7 or number == total - 1:
            progress(0.9 * (number + 1) / total)
            check()

    chunk_size = params.chunk_size or default_chunk_size(frames[0].width, frames[0].height)
    for number in range(math.ceil(total / chunk_size)):
        members = range(number * chunk_size, min(total, (number + 1) * chunk_size))
        files = [original_dir / original_files[f] for f in members]
        first = storage.chunk(QUALITIES[0], number, out)
        for quality in QUALITIES:
            target = storage.chunk(quality, number, out)
            target.parent.mkdir(parents=True, exist_ok=True)
            if quality == QUALITIES[0]:
                write_chunk(target, files)
            else:  # the same PCDs: CVAT's compressed and original 3D chunks are equal
                _link_or_copy(first, target)
        check()
    storage.preview(out).write_bytes(placeholder_preview())
    manifest.write_images(storage.manifest(out), items)
    progress(0.99)

    spec = TaskDataSpec(
        frames=frames, image_quality=params.image_quality, chunk_size=chunk_size,
        sorting_method=params.sorting_method, start_frame=start, stop_frame=stop,
        frame_filter=params.frame_filter.strip(),
        storage_method="cache" if params.use_cache else "file_system",
        use_zip_chunks=params.use_zip_chunks, use_cache=params.use_cache, dimension="3d",
    )  # fmt: skip
    return StoredData(
        spec=spec, original_files=original_files,
        chunks_updated_date=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    )  # fmt: skip


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
