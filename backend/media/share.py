"""The server share (`VELLUM_SHARE_ROOT`): a directory on the server that users browse
(`GET /api/server/share`) and create tasks from (`server_files`).

Paths from clients are relative to the root (a leading "/" is the root itself). They never
leave it: `..` components are refused, and every path is resolved (symbolic links
followed) and must still lie inside the real root; a link that points outside is treated
as outside. Task data is always COPIED out of the share, so later changes to the share do
not change a task."""

from __future__ import annotations

import fnmatch
import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from backend.media.images import MediaError

_IMAGE = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".mpo", ".jfif"}
_VIDEO = {".mp4", ".webm", ".avi", ".mkv", ".mov", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"}
_ARCHIVE = {".zip", ".tar", ".tgz", ".gz", ".bz2", ".tbz2", ".xz", ".txz"}


class ShareError(ValueError):
    """A share path that cannot be used: 404 when it does not exist, else 400."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        self.missing = missing
        super().__init__(message)


class FileInfo(msgspec.Struct, frozen=True):
    """One entry of a share listing, as CVAT's FileInfo serializer shows it."""

    name: str
    type: Literal["REG", "DIR"]
    mime_type: str


@dataclass(frozen=True)
class ShareFile:
    name: str  # the path relative to the share root: the frame name, as CVAT keeps it
    path: Path  # resolved, inside the root
    size: int
    in_directory: bool  # found by walking a listed directory (not named itself)


def mime_type(name: str) -> str:
    """CVAT's listing categories, from the name (sniffing every listed file would be slow;
    task creation sniffs contents anyway)."""
    suffix = posixpath.splitext(name)[1].lower()
    if suffix in _IMAGE:
        return "image"
    if suffix in _VIDEO:
        return "video"
    if suffix in _ARCHIVE:
        return "archive"
    return "unknown"


class Share:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    @classmethod
    def configured(cls, share_root: str) -> Share | None:
        return cls(share_root) if share_root.strip() else None

    def _inside(self, path: Path) -> bool:
        return path == self.root or path.is_relative_to(self.root)

    def resolve(self, relative: str) -> Path:
        """The real path of a client path, or ShareError naming it."""
        if "\x00" in relative or "\\" in relative:
            raise ShareError(f"{relative}: not a valid share path")
        parts = [p for p in relative.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise ShareError(f"{relative}: '..' is not allowed in share paths")
        candidate = self.root.joinpath(*parts)
        try:
            real = candidate.resolve(strict=True)
        except FileNotFoundError:
            raise ShareError(
                f"{relative}: no such file or directory in the share", missing=True
            ) from None
        except (OSError, RuntimeError) as exc:  # loops, permissions
            raise ShareError(f"{relative}: cannot be read ({exc})") from None
        if not self._inside(real):
            raise ShareError(f"{relative}: points outside the share")
        return real

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def listing(self, directory: str = "/", search: str = "") -> list[FileInfo]:
        """Entries of a share directory: directories first, then files, each by name;
        entries that lead outside the share (links) are left out. `search`: name prefix."""
        real = self.resolve(directory)
        if not real.is_dir():
            raise ShareError(f"{directory}: not a directory")
        entries: list[FileInfo] = []
        try:
            scan = os.scandir(real)
        except OSError as exc:
            raise ShareError(f"{directory}: cannot be read ({exc.strerror})") from None
        with scan:
            for entry in scan:
                if search and not entry.name.startswith(search):
                    continue
                try:
                    target = Path(entry.path).resolve(strict=True)
                except (OSError, RuntimeError):
                    continue  # a dangling or looping link
                if not self._inside(target):
                    continue
                if target.is_dir():
                    entries.append(FileInfo(entry.name, "DIR", "DIR"))
                elif target.is_file():
                    entries.append(FileInfo(entry.name, "REG", mime_type(entry.name)))
        return sorted(entries, key=lambda e: (e.type, e.name))

    def check(self, server_files: list[str]) -> None:
        """Cheap request-time check: every entry exists inside the share."""
        for entry in server_files:
            self.resolve(entry)

    def expand(
        self,
        server_files: list[str],
        exclude: list[str] | None = None,
        pattern: str | None = None,
        max_bytes: int | None = None,
    ) -> list[ShareFile]:
        """The files that `server_files` names, in the given order: a directory stands for
        every file under it (recursively, in name order, links to directories not
        followed). `exclude` drops files ("sub/a.jpg") and whole directories ("sub/x/");
        `pattern` (fnmatch) keeps only matching relative paths. Each file is listed once.
        ShareError names the first bad entry; MediaError if the files exceed `max_bytes`."""
        excluded_files: set[str] = set()
        excluded_dirs: list[str] = []
        for raw in exclude or []:
            clean = "/".join(p for p in raw.split("/") if p not in ("", "."))
            if raw.endswith("/"):
                excluded_dirs.append(clean + "/")
            else:
                excluded_files.add(clean)
                excluded_dirs.append(clean + "/")  # a directory named without the slash

        def kept(name: str) -> bool:
            if name in excluded_files or any(name.startswith(d) for d in excluded_dirs):
                return False
            return pattern is None or fnmatch.fnmatchcase(name, pattern)

        files: list[ShareFile] = []
        seen: set[str] = set()
        total = 0
        for entry in server_files:
            real = self.resolve(entry)
            given = "/".join(p for p in entry.split("/") if p not in ("", "."))
            if real.is_dir():
                found: Iterator[tuple[str, Path]] = (
                    (posixpath.join(given, rel) if given else rel, path)
                    for rel, path in self._walk(real, "")
                )
            elif real.is_file():
                found = iter([(given, real)])
            else:
                raise ShareError(f"{entry}: not a regular file or directory")
            for name, path in found:
                if name in seen or not kept(name):
                    continue
                seen.add(name)
                size = path.stat().st_size
                total += size
                if max_bytes is not None and total > max_bytes:
                    raise MediaError(
                        f"{entry}: the share files add up to more than {max_bytes} bytes"
                    )
                files.append(ShareFile(name, path, size, real.is_dir()))
        if not files:
            raise MediaError("No media data found: the share paths hold no files.")
        return files

    def _walk(self, directory: Path, prefix: str) -> Iterator[tuple[str, Path]]:
        """(path relative to the walk's start, real file) for the regular files under
        `directory`, depth first in name order. Links to files are followed only when
        they stay inside the share; links to directories are not followed."""
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            raise ShareError(f"{self.relative(directory)}: cannot be read ({exc})") from None
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                yield from self._walk(Path(entry.path), rel + "/")
            elif entry.is_symlink():
                try:
                    target = Path(entry.path).resolve(strict=True)
                except (OSError, RuntimeError):
                    continue
                if self._inside(target) and target.is_file():
                    yield rel, target
            elif entry.is_file(follow_symlinks=False):
                yield rel, Path(entry.path)
