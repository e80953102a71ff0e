"""Zip and tar (plain, gzip, bzip2, xz) archives of media, opened defensively: no path
traversal, no links or device files, no encrypted members, bounded member count and
unpacked size. Members are extracted under generated names, so nothing in an archive ever
chooses a path on our disk. Which members are kept is decided by `member_verdict`.

Tar members are read strictly in order (a compressed tar cannot seek back cheaply): each
kept member is classified from its first bytes and then copied on from the same stream."""

from __future__ import annotations

import io
import lzma
import posixpath
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, Protocol

from PIL import Image, UnidentifiedImageError

from backend.media import pointcloud, video
from backend.media.images import IMAGE_FORMATS, MediaError

# Files that travel with images in real archives and are not frames.
_SIDECAR_SUFFIXES = {".txt", ".json", ".jsonl", ".xml", ".md", ".csv", ".yaml", ".yml"}
# How much of a member is read to decide what it is: image headers sit at the start, and
# only a JPEG with large metadata segments needs more than the first try.
FIRST_HEAD_BYTES = 64 * 1024
HEAD_BYTES = 1024 * 1024


class Head(Protocol):
    def __call__(self, size: int = HEAD_BYTES) -> bytes:
        """The member's first `size` bytes (fewer if it is shorter)."""
        ...


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int = 100_000
    max_unpacked_bytes: int = 16 * 1024**3
    # extract_tree: an archive unpacking to more than this many times its size (past the
    # slack) is a zip bomb; real annotation files deflate about 10-20:1 (a 50,000-shape
    # CVAT XML 13:1), while a member of zeros deflates about 1000:1.
    max_ratio: int = 200
    ratio_slack_bytes: int = 64 * 2**20


@dataclass(frozen=True)
class Member:
    name: str  # the frame name: the member's path inside the archive
    size: int


# --- which members are media ------------------------------------------------------------


def _is_junk(name: str) -> bool:
    parts = name.split("/")
    return any(p.startswith(".") or p == "__MACOSX" for p in parts) or name.endswith("Thumbs.db")


def member_verdict(name: str, head: Head) -> Literal["keep", "skip"]:
    """What to do with the regular file `name` of an archive: keep it as task media, skip
    it (junk and sidecar files), or refuse the archive (MediaError naming the member).
    `head()` reads the member's first bytes (only called when needed)."""
    if _is_junk(name) or posixpath.splitext(name)[1].lower() in _SIDECAR_SUFFIXES:
        return "skip"
    if _is_image(head(FIRST_HEAD_BYTES)) or _is_image(head()):
        return "keep"
    if pointcloud.is_archive_member(name, head()):  # .pcd by header, KITTI .bin by name
        return "keep"
    if video.video_signature(head(FIRST_HEAD_BYTES)[:12]):
        # CVAT takes only images from an archive (media_extractors.ArchiveReader)
        raise MediaError(
            f"member {name!r} is a video; videos are not read from archives, "
            "upload the video file itself"
        )
    raise MediaError(f"member {name!r} is not an image")


# A kept image may carry metadata and extra pages, but not gigabytes beyond its pixels: a
# small JPEG followed by zeros sniffs as an image and deflates about 1000:1 (a zip bomb
# that the unpacked-size limit alone lets fill the disk).
_SIZE_SLACK_BYTES = 64 * 2**20
_MAX_BYTES_PER_PIXEL = 64


def _oversized_image(name: str, size: int, head: bytes) -> str | None:
    """Why the member is too large for the image its header describes, or None."""
    if size <= _SIZE_SLACK_BYTES:
        return None
    try:
        with Image.open(io.BytesIO(head)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None  # not an image (a point cloud): its own reader checks its length
    if size <= _SIZE_SLACK_BYTES + width * height * _MAX_BYTES_PER_PIXEL:
        return None
    return (
        f"member {name!r} unpacks to {size} bytes for one {width}x{height} image "
        "(data beyond the image; a zip bomb?)"
    )


def _is_image(head: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(head)) as image:
            return image.format in IMAGE_FORMATS
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False


# --- reading zip and tar alike -----------------------------------------------------------

EntryType = Literal["file", "dir", "symlink", "hardlink", "special", "encrypted"]


@dataclass(frozen=True)
class _Entry:
    raw_name: str
    type: EntryType
    size: int
    open: Callable[[], IO[bytes]]


def _safe_name(raw: str, archive: str) -> str:
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or "\x00" in name:
        raise MediaError(f"{archive}: member {raw!r} has an absolute path")
    normal = posixpath.normpath(name)
    if normal == ".." or normal.startswith("../") or "/../" in f"/{name}/":
        raise MediaError(f"{archive}: member {raw!r} points outside the archive")
    return normal


def _zip_entries(zf: zipfile.ZipFile) -> Iterator[_Entry]:
    for info in zf.infolist():
        mode = info.external_attr >> 16
        kind: EntryType = "file"
        if stat.S_ISLNK(mode):
            kind = "symlink"
        elif info.flag_bits & 0x1:
            kind = "encrypted"
        elif info.is_dir():
            kind = "dir"
        elif stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # Unix devices, FIFOs, sockets
            kind = "special"

        def opener(info: zipfile.ZipInfo = info) -> IO[bytes]:
            # zipfile stops at the declared size and checks the CRC: the size bound holds
            # even for a lying header.
            return zf.open(info)

        yield _Entry(info.filename, kind, info.file_size, opener)


def _tar_entries(tf: tarfile.TarFile) -> Iterator[_Entry]:
    for info in tf:
        kind: EntryType
        if info.isreg():
            kind = "file"
        elif info.isdir():
            kind = "dir"
        elif info.issym():
            kind = "symlink"
        elif info.islnk():
            kind = "hardlink"
        else:
            kind = "special"  # devices, FIFOs

        def opener(info: tarfile.TarInfo = info) -> IO[bytes]:
            handle = tf.extractfile(info)
            assert handle is not None  # regular files always have a body
            return handle

        yield _Entry(info.name, kind, info.size, opener)


def is_tar(path: Path) -> bool:
    """A tar archive, compressed (gzip, bzip2, xz) or not, judged by its content."""
    try:
        with tarfile.open(path, "r:*") as tf:
            return tf.next() is not None
    except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError, ValueError):
        return False


_READ_ERRORS = (
    zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError,
    NotImplementedError, RuntimeError, ValueError,
)  # fmt: skip


@contextmanager
def _entries(path: Path, archive: str) -> Iterator[Iterator[_Entry]]:
    """The archive's entries in order; read errors become MediaError naming the archive."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                yield _zip_entries(zf)
        else:
            try:
                tf = tarfile.open(path, "r:*")
            except tarfile.TarError:
                raise MediaError(f"{archive}: not a zip or tar archive") from None
            with tf:
                yield _tar_entries(tf)
    except MediaError:
        raise
    except zipfile.BadZipFile as exc:
        raise MediaError(f"{archive}: broken zip archive ({exc})") from None
    except _READ_ERRORS as exc:
        reason = str(exc) or type(exc).__name__
        raise MediaError(f"{archive}: cannot read the archive ({reason})") from None


def _checked_name(entry: _Entry, archive: str) -> str:
    """The entry's normalised name, or MediaError for what is never extracted: links,
    special files, encrypted members, absolute paths and paths out of the archive."""
    if entry.type == "symlink":
        raise MediaError(f"{archive}: member {entry.raw_name!r} is a symbolic link")
    if entry.type == "hardlink":
        raise MediaError(f"{archive}: member {entry.raw_name!r} is a hard link")
    if entry.type == "special":
        raise MediaError(f"{archive}: member {entry.raw_name!r} is not a regular file")
    if entry.type == "encrypted":
        raise MediaError(f"{archive}: member {entry.raw_name!r} is encrypted")
    return _safe_name(entry.raw_name, archive)


def _scan(
    entries: Iterator[_Entry], archive: str, limits: ArchiveLimits
) -> Iterator[tuple[str, _Entry, bytes, IO[bytes]]]:
    """Check every entry; yield (name, entry, head, stream after the head) for each member
    kept, in archive order. The stream is valid until the next item is asked for."""
    count = 0
    unpacked = 0
    names: set[str] = set()
    for entry in entries:
        count += 1
        if count > limits.max_members:
            raise MediaError(f"{archive}: more than {limits.max_members} files in the archive")
        name = _checked_name(entry, archive)
        if entry.type == "dir":
            continue
        # Every file counts, kept or not: skipping a tar member still unpacks it.
        unpacked += entry.size
        if unpacked > limits.max_unpacked_bytes:
            raise MediaError(f"{archive}: unpacks to more than {limits.max_unpacked_bytes} bytes")
        stream: IO[bytes] | None = None
        head = b""

        def read_head(size: int = HEAD_BYTES, entry: _Entry = entry) -> bytes:
            nonlocal stream, head
            if stream is None:
                stream = entry.open()
            if len(head) < size:
                head += stream.read(size - len(head))
            return head[:size]

        try:
            verdict = member_verdict(name, read_head)
            if verdict == "keep" and name in names:
                raise MediaError(f"the archive holds the same file name twice ({name})")
            if verdict == "keep" and (why := _oversized_image(name, entry.size, head)):
                raise MediaError(why)
        except MediaError as exc:
            if stream is not None:
                stream.close()
            raise MediaError(f"{archive}: {exc}") from None
        if verdict == "skip":
            if stream is not None:
                stream.close()
            continue
        names.add(name)
        read_head(0)  # opens the stream if the verdict did not need the head
        assert stream is not None
        with stream:
            yield name, entry, head, stream
    if not names:
        raise MediaError(f"{archive}: the archive holds no images")


def list_members(path: Path, archive: str, limits: ArchiveLimits) -> list[Member]:
    """The media members of an archive in archive order, after checking every entry; the
    first problem raises MediaError naming the archive (and the member)."""
    with _entries(path, archive) as entries:
        return [Member(name, entry.size) for name, entry, _, _ in _scan(entries, archive, limits)]


def extract(path: Path, archive: str, dest: Path, limits: ArchiveLimits) -> list[tuple[str, Path]]:
    """Extract the media members into `dest` under generated names; (frame name, file).
    Everything is checked before the first byte is written."""
    list_members(path, archive, limits)
    dest.mkdir(parents=True, exist_ok=True)
    out: list[tuple[str, Path]] = []
    with _entries(path, archive) as entries:
        for index, (name, _, head, stream) in enumerate(_scan(entries, archive, limits)):
            suffix = posixpath.splitext(name)[1].lower()[:10]
            target = dest / f"{index:08d}{suffix}"
            with target.open("wb") as dst:
                dst.write(head)
                shutil.copyfileobj(stream, dst, 1024 * 1024)
            out.append((name, target))
    return out


def extract_tree(path: Path, archive: str, dest: Path, limits: ArchiveLimits) -> int:
    """Extract every regular file under its own (checked, normalised) path below `dest`,
    for archives whose layout matters (annotation and dataset imports, backups); junk
    (__MACOSX, dot files) is left out. The same checks as for media archives: no links,
    special or encrypted members, no path out of `dest`, bounded count and size, all
    checked before the first byte is written. Returns the number of files written."""
    with _entries(path, archive) as entries:
        unpacked = _check_tree(entries, archive, limits)
    packed = max(path.stat().st_size, 1)
    if unpacked > limits.ratio_slack_bytes and unpacked > limits.max_ratio * packed:
        raise MediaError(
            f"{archive}: unpacks to {unpacked} bytes from {packed} "
            f"({unpacked // packed}:1, more than {limits.max_ratio}:1; a zip bomb?)"
        )
    written = 0
    with _entries(path, archive) as entries:
        for entry in entries:
            name = _checked_name(entry, archive)
            if entry.type == "dir" or _is_junk(name):
                continue
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with entry.open() as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
            written += 1
    return written


def _check_tree(entries: Iterator[_Entry], archive: str, limits: ArchiveLimits) -> int:
    """Check every entry; the unpacked size of the files."""
    count = 0
    unpacked = 0
    names: set[str] = set()
    for entry in entries:
        count += 1
        if count > limits.max_members:
            raise MediaError(f"{archive}: more than {limits.max_members} files in the archive")
        name = _checked_name(entry, archive)
        if entry.type == "dir":
            continue
        if name in names:
            raise MediaError(f"{archive}: the archive holds the same file name twice ({name})")
        names.add(name)
        unpacked += entry.size
        if unpacked > limits.max_unpacked_bytes:
            raise MediaError(f"{archive}: unpacks to more than {limits.max_unpacked_bytes} bytes")
    return unpacked
