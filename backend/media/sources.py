"""Gathering a task's input files in the worker, before the build: the files uploaded in
the session, files COPIED from the server share (`server_files`), files downloaded from
remote URLs (`remote_files`, through the SSRF-safe fetcher) and files from cloud storage
(`cloud_storage_id` + `server_files`, see `cloud_files`). Every gathered file is sniffed by
content like an upload, so the same builders handle them all.

Progress goes from 0 to 1 over the bytes to copy and download; `check` is called between
chunks and raises to cancel. Any failure raises MediaError naming the file or URL; the
caller removes `work_dir`."""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import os
import posixpath
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from backend.cloud import task_files
from backend.media import images, uploads
from backend.media.build import Received
from backend.media.images import MediaError
from backend.media.share import Share, ShareError, ShareFile
from backend.media.spec import DataParams
from backend.media.storage import TaskStorage
from backend.net import safe_fetch

if TYPE_CHECKING:
    from backend.bootstrap import Container

Progress = Callable[[float], None]
Check = Callable[[], None]
T = TypeVar("T")
_COPY_CHUNK = 1024 * 1024
CHECK_EVERY_S = 0.2


def task_files_limit(container: Container) -> int:
    """The most a task's share and remote files may add up to (the upload limit)."""
    return container.settings.max_upload_mb * 2**20


async def gather(
    container: Container,
    storage: TaskStorage,
    row_params: Mapping[str, Any],
    work_dir: Path,
    progress: Progress,
    check: Check,
) -> list[Received]:
    """All input files of a create-task-data request (`row_params` as `_finish` stored
    them: {"session": str | None, "data": DataParams as JSON}), in this order: uploads,
    share files, remote files, cloud storage files."""
    params = msgspec.convert(row_params["data"], DataParams)
    session = row_params.get("session")
    received: list[Received] = []
    if session:
        async with container.pool.connection() as conn:
            received = [
                Received(f.name, storage.upload_files_dir(str(session)) / f.disk_name, f.kind)
                for f in await uploads.files(conn, str(session))
            ]
    if params.cloud_storage_id is not None:
        # server_files name objects in the bucket, not share paths.
        received += await cloud_files(container, params, work_dir / "cloud", progress, check)
        return received
    limit = task_files_limit(container)
    shared: list[ShareFile] = []
    if params.server_files:
        share = Share.configured(container.settings.share_root)
        if share is None:
            raise MediaError("server_files: this server has no share (VELLUM_SHARE_ROOT)")
        try:
            shared = await asyncio.to_thread(
                share.expand, params.server_files, params.server_files_exclude,
                params.filename_pattern, limit,
            )  # fmt: skip
        except ShareError as exc:
            raise MediaError(str(exc)) from None
    meter = _Meter(progress, sum(f.size for f in shared), len(params.remote_files))
    for index, item in enumerate(shared):
        target = work_dir / "share" / f"{index:08d}{_suffix(item.name)}"
        await asyncio.to_thread(_copy, item.path, target, meter, check)
        kind = await asyncio.to_thread(_kind, target, item.name, item.in_directory)
        if kind is not None:
            received.append(Received(item.name, target, kind))
    received += await _download_all(
        container, params.remote_files, work_dir / "remote", meter, check,
        limit - sum(f.size for f in shared),
    )  # fmt: skip
    progress(1.0)
    return received


async def cloud_files(
    container: Container, params: DataParams, dest: Path, progress: Progress, check: Check
) -> list[Received]:
    """CLOUD STORAGE HOOK: download `params.server_files` (filtered by
    `params.server_files_exclude` / `params.filename_pattern`, or listed by a manifest)
    from cloud storage `params.cloud_storage_id` into `dest`, and return them as Received
    (name = the object key, kind from `images.sniff`). Raise MediaError naming the
    storage/object on failure; call `check()` between objects and `progress(0..1)`."""
    return await task_files.cloud_files(container, params, dest, progress, check)


async def _cancellable(work: Coroutine[Any, Any, T], check: Check) -> T:
    """Await `work`, calling `check()` meanwhile: a cancel reaches a download that is
    waiting for a silent server too, not only one that is receiving bytes."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=CHECK_EVERY_S)
            if done:
                return task.result()
            check()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


def _suffix(name: str) -> str:
    return posixpath.splitext(name)[1].lower()[:10]


_MEDIA_SUFFIXES = (".pcd", ".zip", ".tar", ".tgz", ".tar.gz", ".tar.bz2", ".tar.xz")


def _named_as_media(name: str) -> bool:
    lower = name.lower()
    mime = mimetypes.guess_type(lower)[0] or ""
    return mime.startswith(("image/", "video/")) or lower.endswith(_MEDIA_SUFFIXES)


def _kind(path: Path, name: str, optional: bool) -> images.FileKind | None:
    """What a gathered file is, by content. Files found by walking a share directory that
    are no media (notes, labels, ...) are skipped as CVAT skips them; but one named as media
    (`x.jpg`, `y.pcd`) that is not, is broken: it fails the task like a file named on its own,
    rather than silently leaving a frame out."""
    try:
        return images.sniff(path, name)
    except MediaError:
        if optional and not _named_as_media(name):
            path.unlink(missing_ok=True)
            return None
        raise


class _Meter:
    """Progress over the share bytes and the remote files (each URL one equal share)."""

    def __init__(self, progress: Progress, share_bytes: int, remote_count: int) -> None:
        self.progress = progress
        self.share_bytes = share_bytes
        self.remote_count = remote_count
        self.copied = 0
        self.downloaded = 0.0  # finished URLs + the fraction of the current one

    def _report(self) -> None:
        parts = (1 if self.share_bytes else 0) + (1 if self.remote_count else 0)
        if not parts:
            return
        value = 0.0
        if self.share_bytes:
            value += self.copied / self.share_bytes
        if self.remote_count:
            value += self.downloaded / self.remote_count
        self.progress(min(1.0, value / parts))

    def add_copied(self, count: int) -> None:
        self.copied += count
        self._report()

    def set_downloaded(self, value: float) -> None:
        self.downloaded = value
        self._report()


def _copy(source: Path, target: Path, meter: _Meter, check: Check) -> None:
    """Copy one share file (the path was resolved and checked; O_NOFOLLOW keeps a link
    swapped in since then from being followed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise MediaError(f"{source.name}: cannot be read from the share ({exc})") from None
    with os.fdopen(fd, "rb") as src, target.open("wb") as dst:
        while piece := src.read(_COPY_CHUNK):
            dst.write(piece)
            meter.add_copied(len(piece))
            check()


async def _download_all(
    container: Container, urls: list[str], dest: Path, meter: _Meter, check: Check,
    budget: int,
) -> list[Received]:  # fmt: skip
    """Download every URL in order (CVAT does too). Names come from the URL path; two URLs
    with the same name are refused, as CVAT does."""
    if not urls:
        return []
    policy = safe_fetch.FetchPolicy.from_settings(container.settings)
    out: list[Received] = []
    names: set[str] = set()
    for index, url in enumerate(urls):
        check()

        def on_bytes(done: int, total: int | None, index: int = index) -> None:
            fraction = done / total if total else 0.0
            meter.set_downloaded(index + min(fraction, 1.0))

        try:
            got = await _cancellable(
                safe_fetch.download(url, dest, policy, progress=on_bytes, check=check), check
            )
        except safe_fetch.FetchError as exc:
            raise MediaError(f"Could not download {exc}") from None
        budget -= got.size
        if budget < 0:
            got.path.unlink(missing_ok=True)
            raise MediaError(f"{url}: the task's files add up to more than the upload limit")
        if got.name in names:
            raise MediaError(f"{url}: another remote file has the same name ({got.name})")
        names.add(got.name)
        try:
            kind = await asyncio.to_thread(images.sniff, got.path, got.name)
        except MediaError as exc:
            raise MediaError(f"{url}: {exc}") from None
        out.append(Received(got.name, got.path, kind))
        meter.set_downloaded(index + 1)
    return out
