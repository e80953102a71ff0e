"""Zip archives of images, opened defensively: no path traversal, no links, no encrypted
members, bounded member count and unpacked size. Members are extracted under generated
names, so nothing in an archive ever chooses a path on our disk."""

from __future__ import annotations

import posixpath
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from backend.media.images import IMAGE_FORMATS, MediaError

# Files that travel with images in real archives and are not frames.
_SIDECAR_SUFFIXES = {".txt", ".json", ".jsonl", ".xml", ".md", ".csv", ".yaml", ".yml", ".pcd"}


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int = 100_000
    max_unpacked_bytes: int = 16 * 1024**3


@dataclass(frozen=True)
class Member:
    name: str  # the frame name: the member's path inside the archive
    info: zipfile.ZipInfo


def _is_junk(name: str) -> bool:
    parts = name.split("/")
    return any(p.startswith(".") or p == "__MACOSX" for p in parts) or name.endswith("Thumbs.db")


def _safe_name(raw: str, archive: str) -> str:
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or "\x00" in name:
        raise MediaError(f"{archive}: member {raw!r} has an absolute path")
    normal = posixpath.normpath(name)
    if normal == ".." or normal.startswith("../") or "/../" in f"/{name}/":
        raise MediaError(f"{archive}: member {raw!r} points outside the archive")
    return normal


def list_members(path: Path, archive: str, limits: ArchiveLimits) -> list[Member]:
    """The image members of a zip in archive order, after checking every entry; the first
    problem raises MediaError naming the archive (and the member)."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_members:
                raise MediaError(f"{archive}: more than {limits.max_members} files in the archive")
            members: list[Member] = []
            unpacked = 0
            for info in infos:
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise MediaError(f"{archive}: member {info.filename!r} is a symbolic link")
                if info.flag_bits & 0x1:
                    raise MediaError(f"{archive}: member {info.filename!r} is encrypted")
                name = _safe_name(info.filename, archive)
                if info.is_dir() or _is_junk(name):
                    continue
                if posixpath.splitext(name)[1].lower() in _SIDECAR_SUFFIXES:
                    continue
                unpacked += info.file_size
                if unpacked > limits.max_unpacked_bytes:
                    raise MediaError(
                        f"{archive}: unpacks to more than {limits.max_unpacked_bytes} bytes"
                    )
                if not _member_is_image(zf, info):
                    raise MediaError(f"{archive}: member {name!r} is not an image")
                members.append(Member(name, info))
    except zipfile.BadZipFile as exc:
        raise MediaError(f"{archive}: broken zip archive ({exc})") from None
    except (OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        if isinstance(exc, MediaError):
            raise
        raise MediaError(f"{archive}: cannot read the archive ({exc})") from None
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise MediaError(f"{archive}: the archive holds the same file name twice")
    if not members:
        raise MediaError(f"{archive}: the archive holds no images")
    return members


def _member_is_image(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    try:
        with zf.open(info) as fp, Image.open(fp) as image:
            return image.format in IMAGE_FORMATS
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return False
    except zipfile.BadZipFile:
        raise


def extract(path: Path, archive: str, dest: Path, limits: ArchiveLimits) -> list[tuple[str, Path]]:
    """Extract the image members into `dest` under generated names; (frame name, file)."""
    members = list_members(path, archive, limits)
    dest.mkdir(parents=True, exist_ok=True)
    out: list[tuple[str, Path]] = []
    try:
        with zipfile.ZipFile(path) as zf:
            for index, member in enumerate(members):
                suffix = posixpath.splitext(member.name)[1].lower()[:10]
                target = dest / f"{index:08d}{suffix}"
                # zipfile stops at the declared size and checks the CRC: the bound above
                # holds even for a lying header.
                with zf.open(member.info) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
                out.append((member.name, target))
    except zipfile.BadZipFile as exc:
        raise MediaError(f"{archive}: broken zip archive ({exc})") from None
    return out
