"""Opening an uploaded backup defensively: a zip whose every member is checked before
anything is read (no absolute paths, no `..`, no links, devices or encrypted members,
bounded member count and unpacked size: backend/media/archive.py's limits), JSON files
read with a size bound, data/ extracted under generated names (an archive never chooses a
path on our disk)."""

from __future__ import annotations

import posixpath
import shutil
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Any

from backend.backups.layout import MAX_JSON_BYTES, BackupError, decode_json
from backend.media.archive import ArchiveLimits

# A member that cannot be read back: bad CRC, broken deflate stream, truncated file,
# an unsupported compression method.
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


def _safe_name(raw: str) -> str:
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or "\x00" in name:
        raise BackupError(f"the archive member {raw!r} has an absolute path")
    parts = name.split("/")
    if ".." in parts:
        raise BackupError(f"the archive member {raw!r} points outside the archive")
    return posixpath.normpath(name)


class BackupArchive:
    def __init__(self, path: Path, limits: ArchiveLimits) -> None:
        try:
            self.zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise BackupError(f"the file is not a zip archive ({exc})") from None
        try:
            self.members = self._check(limits)
        except BaseException:
            self.zf.close()
            raise

    def _check(self, limits: ArchiveLimits) -> dict[str, zipfile.ZipInfo]:
        members: dict[str, zipfile.ZipInfo] = {}
        unpacked = 0
        infos = self.zf.infolist()
        if len(infos) > limits.max_members:
            raise BackupError(f"more than {limits.max_members} files in the archive")
        for info in infos:
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise BackupError(f"the archive member {info.filename!r} is a symbolic link")
            if info.flag_bits & 0x1:
                raise BackupError(f"the archive member {info.filename!r} is encrypted")
            name = _safe_name(info.filename)
            if info.is_dir():
                continue
            if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
                raise BackupError(f"the archive member {info.filename!r} is not a regular file")
            unpacked += info.file_size
            if unpacked > limits.max_unpacked_bytes:
                limit = limits.max_unpacked_bytes
                raise BackupError(f"the archive unpacks to more than {limit} bytes")
            if name in members:
                raise BackupError(f"the archive holds {name} twice")
            members[name] = info
        return members

    def close(self) -> None:
        self.zf.close()

    def __enter__(self) -> BackupArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has(self, name: str) -> bool:
        return name in self.members

    def read(self, name: str, *, limit: int = MAX_JSON_BYTES) -> bytes:
        info = self.members.get(name)
        if info is None:
            raise BackupError(f"{name} is missing from the backup")
        if info.file_size > limit:
            raise BackupError(f"{name} is larger than {limit} bytes")
        try:
            with self.zf.open(info) as f:
                return f.read(limit + 1)[:limit]
        except _UNREADABLE as exc:
            raise BackupError(f"{name}: cannot be read from the archive ({exc})") from None

    def json(self, name: str, kind: type[Any]) -> Any:
        return decode_json(self.read(name), name, kind)

    def under(self, prefix: str) -> list[str]:
        """Member names under `prefix` ("data/", "task_0/data/"), archive order."""
        return [n for n in self.members if n.startswith(prefix)]

    def extract(self, prefix: str, dest: Path) -> list[tuple[str, Path]]:
        """Members under `prefix` into `dest` under generated names: (name without the
        prefix, file)."""
        dest.mkdir(parents=True, exist_ok=True)
        out: list[tuple[str, Path]] = []
        for index, name in enumerate(self.under(prefix)):
            suffix = posixpath.splitext(name)[1].lower()[:10]
            target = dest / f"{index:08d}{suffix}"
            try:
                with self.zf.open(self.members[name]) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
            except _UNREADABLE as exc:
                raise BackupError(f"{name}: cannot be read from the archive ({exc})") from None
            out.append((name[len(prefix) :], target))
        return out
