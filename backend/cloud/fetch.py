"""A task's files from a bucket: which objects `server_files` means (files, prefixes
ending in "/", manifests), then each one streamed to disk with a size budget, progress
and cancellation. Synchronous: the worker runs it in a thread."""

from __future__ import annotations

import fnmatch
import posixpath
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from backend.cloud.port import Check, CloudError, CloudStorage
from backend.media import manifest as manifests
from backend.media.images import MediaError

MAX_FILES = 100_000
PARALLEL = 8  # concurrent object downloads
MAX_MANIFEST_BYTES = manifests.MAX_MANIFEST_BYTES


@dataclass(frozen=True)
class Selection:
    """What `server_files` asked for, split by kind."""

    files: list[str]
    prefixes: list[str]
    manifests: list[str]

    @classmethod
    def of(cls, server_files: Sequence[str]) -> Selection:
        files, prefixes, found = [], [], []
        for raw in server_files:
            key = raw.lstrip("/")  # CVAT accepts share-style leading slashes
            if key.endswith("/") or not key:
                prefixes.append(key)
            elif key.endswith(".jsonl"):
                found.append(key)
            else:
                files.append(key)
        return cls(files, prefixes, found)


def manifest_entries(storage: CloudStorage, key: str) -> dict[str, list[str]]:
    """The object keys a manifest in the bucket lists, in its order, each with the keys of
    its context images (`meta.related_images`); names in a manifest are relative to its
    own directory. Errors name the manifest."""
    data = storage.read(key, MAX_MANIFEST_BYTES)
    try:
        parsed = manifests.parse(data, key)
    except MediaError as exc:
        raise CloudError("invalid", str(exc)) from None
    base = posixpath.dirname(key)

    def full(name: str) -> str:
        return posixpath.join(base, name) if base else name

    if isinstance(parsed, manifests.VideoManifest):  # comes along: its key frames are used
        return {full(parsed.name): [key]}
    return {full(i.file_name): [full(r) for r in i.related_images] for i in parsed.items}


def manifest_keys(storage: CloudStorage, key: str) -> list[str]:
    """The frames' keys a manifest lists (context images left out)."""
    return list(manifest_entries(storage, key))


def plan(
    storage: CloudStorage,
    server_files: Sequence[str],
    *,
    filename_pattern: str | None = None,
    exclude: Sequence[str] = (),
    max_files: int = MAX_FILES,
) -> list[str]:
    """The object keys to fetch, in a stable order, duplicates removed.

    With a manifest, its list is the truth: alone it means all its files; with files or
    prefixes beside it, those of its files (each named file must be listed); the context
    images it names for the chosen files come along. Without one,
    prefixes are listed in the bucket. `filename_pattern` (fnmatch, on the key) and
    `server_files_exclude` (keys, or prefixes ending in "/") narrow the result."""
    chosen = Selection.of(server_files)
    related: dict[str, list[str]] = {}
    if chosen.manifests:
        for key in chosen.manifests:
            related.update(manifest_entries(storage, key))
        listed = list(related)
        if chosen.files or chosen.prefixes:
            known = set(listed)
            for key in chosen.files:
                if key not in known:
                    raise CloudError(
                        "invalid", f"'{key}' is not listed in {', '.join(chosen.manifests)}."
                    )
            keys = list(chosen.files)
            keys += [k for k in listed for p in chosen.prefixes if k.startswith(p)]
        else:
            keys = listed
    else:
        keys = list(chosen.files)
        for prefix in chosen.prefixes:
            under = storage.list_all(prefix, max_files)
            if not under:
                raise CloudError("not_found", f"No files under '{prefix}' on '{storage.name}'.")
            keys += under
    if filename_pattern:
        keys = [k for k in keys if fnmatch.fnmatchcase(k, filename_pattern)]
    # The chosen frames' context images come along (the builder pairs them by layout).
    keys += [r for k in keys for r in related.get(k, [])]
    # An excluded name drops that object and, like the share, everything under it.
    excluded = [e.lstrip("/") for e in exclude if e.strip("/")]
    dirs = tuple(e if e.endswith("/") else e + "/" for e in excluded)
    keys = [k for k in keys if k not in excluded and not k.startswith(dirs)]
    keys = list(dict.fromkeys(keys))
    if not keys:
        raise CloudError("not_found", "No media data found: the selection holds no files.")
    if len(keys) > max_files:
        raise CloudError("too_large", f"The selection holds more than {max_files} files.")
    return keys


class _Stopped(Exception):
    """Another download of the batch failed: this one gives up at its next chunk."""


class _Budget:
    """The bytes all parallel downloads may add up to, counted as they arrive."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.lock = threading.Lock()

    def add(self, count: int, key: str) -> None:
        with self.lock:
            self.used += count
            if self.used > self.limit:
                raise CloudError(
                    "too_large",
                    f"{key}: the selected files add up to more than {self.limit} bytes.",
                )


def fetch(
    storage: CloudStorage,
    keys: Sequence[str],
    dest: Path,
    max_total_bytes: int,
    *,
    check: Check,
    progress: Callable[[float], None],
    parallel: int = PARALLEL,
) -> list[tuple[str, Path]]:
    """Download every key into `dest` (file names made up here: keys may hold anything),
    `parallel` at a time as CVAT does (per-object latency dominates on real buckets);
    returns (key, path) in the order of `keys`. The total may not exceed
    `max_total_bytes`; the first failure stops the other downloads and is raised."""
    dest.mkdir(parents=True, exist_ok=True)
    budget = _Budget(max_total_bytes)
    stop = threading.Event()
    finished = 0
    finished_lock = threading.Lock()

    def guarded() -> None:
        if stop.is_set():
            raise _Stopped
        check()

    def one(index: int, key: str) -> Path:
        nonlocal finished
        guarded()
        suffix = PurePosixPath(key).suffix[:16]
        target = dest / f"{index:06d}{suffix if suffix.isascii() else ''}"
        seen = 0

        def arrived(total: int) -> None:
            nonlocal seen
            budget.add(total - seen, key)
            seen = total

        try:
            storage.download(key, target, max_total_bytes, check=guarded, progress=arrived)
        except CloudError as exc:
            if exc.kind == "too_large":  # one object alone is past the whole budget
                raise CloudError(
                    "too_large",
                    f"{key}: the selected files add up to more than {max_total_bytes} bytes.",
                ) from None
            raise
        with finished_lock:
            finished += 1
            progress(finished / len(keys))
        return target

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(keys)))) as pool:
        futures = [pool.submit(one, i, k) for i, k in enumerate(keys)]
        wait(futures, return_when=FIRST_EXCEPTION)
        errors = [e for f in futures if f.done() and not f.cancelled() and (e := f.exception())]
        if errors:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise next((e for e in errors if not isinstance(e, _Stopped)), errors[0])
    return [(key, f.result()) for key, f in zip(keys, futures, strict=True)]
