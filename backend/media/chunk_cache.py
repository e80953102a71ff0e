"""ONE bounded disk cache for everything made on request: on-the-fly task chunks
(`use_cache` tasks), job chunks, job previews, and video chunks.

How to use it (image and video serving alike):

    cache = chunk_cache.for_data_dir(settings.data_dir, settings.media_cache_mb)
    with cache.get(key, make) as f:     # f: an open binary file at offset 0
        ...                             # serving.py returns it; task_data streams it

There is deliberately no "give me a path": a kept file can be evicted by another request
the moment after, and an item larger than the cache has no kept file at all.

`key` says exactly what the bytes are, including the data version (see `task_key`), so a
key never needs invalidation; `make(target)` writes the bytes to `target` (a temporary
file in the cache; it may raise, nothing is kept then). Callers build in a thread, never
on the event loop: `get` blocks while `make` runs.

Layout under `root` (DATA_DIR/data/cache/chunks): items/AB/<sha256 of key> hold the bytes,
tmp/ what is being made, index.sqlite3 the entries (key, size, last use). Last use is an
explicit counter bumped on every hit, never filesystem atime, so LRU order is exact. The
SQLite write lock (BEGIN IMMEDIATE) is the lock around inserting and evicting, across
threads and processes; files are written to tmp/ and renamed into place, so a reader sees
a whole file or none. An open file stays readable after eviction unlinks it (POSIX), so
`get` hands out open files: an entry evicted while it is being sent is still sent whole.
An item larger than the whole cache is made, handed out, and not kept. A deleted task's
entries go with it (`forget_task`, from TaskStorage.remove_all)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

Make = Callable[[Path], None]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    digest TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    size INTEGER NOT NULL,
    used INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_used ON entries (used);
CREATE TABLE IF NOT EXISTS clock (id INTEGER PRIMARY KEY CHECK (id = 1), tick INTEGER NOT NULL);
INSERT OR IGNORE INTO clock (id, tick) VALUES (1, 0);
"""
INDEX_NAME = "index.sqlite3"
STALE_TMP_S = 3600  # a tmp file this old was left by a process that died while making it


def task_key(task_id: int, version: str, *parts: object) -> str:
    """`task/{id}/{version}/...`: version is the data set's identity (chunks_updated_date),
    so data made for an earlier data set of the same task is never served for a new one."""
    return "/".join([task_prefix(task_id) + version, *(str(p) for p in parts)])


def task_prefix(task_id: int) -> str:
    """What every key of the task starts with (for `forget` when the task is deleted)."""
    return f"task/{task_id}/"


class ChunkCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self.root = root
        self.max_bytes = max_bytes
        self._items = root / "items"
        self._tmp = root / "tmp"
        self._items.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # One maker per key in this process; other processes may make the same key at
        # the same time (wasted work, never wrong: the last rename wins, same bytes).
        self._making: dict[str, tuple[threading.Lock, list[int]]] = {}
        self._making_guard = threading.Lock()
        with self._db() as db:
            db.executescript(_SCHEMA)
        self._sweep_tmp()
        self._reconcile()

    # -- public -------------------------------------------------------------------------
    def get(self, key: str, make: Make) -> BinaryIO:
        """The bytes for `key` as an open file (the caller closes it), made on a miss."""
        digest = _digest(key)
        path = self._path(digest)
        found = self._open_hit(digest, key, path)
        if found is not None:
            return found
        with self._key_lock(digest):
            found = self._open_hit(digest, key, path)
            if found is not None:
                return found
            return self._make(digest, key, path, make)

    def size(self) -> int:
        """Bytes the index says are kept (what the bound is about)."""
        with self._db() as db:
            row = db.execute("SELECT coalesce(sum(size), 0) FROM entries").fetchone()
        return int(row[0])

    def keys_by_use(self) -> list[str]:
        """Kept keys, least recently used first (for tests and diagnostics)."""
        with self._db() as db:
            return [r[0] for r in db.execute("SELECT key FROM entries ORDER BY used")]

    def forget(self, prefix: str) -> int:
        """Drop every entry whose key starts with `prefix` (a deleted task's data)."""
        with self._db() as db:
            return _forget(db, self._items, prefix)

    # -- internals ----------------------------------------------------------------------
    def _path(self, digest: str) -> Path:
        return self._items / digest[:2] / digest

    def _open_hit(self, digest: str, key: str, path: Path) -> BinaryIO | None:
        try:
            f = path.open("rb")
        except FileNotFoundError:
            return None
        try:
            with self._db() as db:
                db.execute("BEGIN IMMEDIATE")
                # Evicted between our open and this lock: the file is ours to send, but
                # it must not come back into the index.
                if os.fstat(f.fileno()).st_nlink > 0:
                    self._touch(db, digest, key, os.fstat(f.fileno()).st_size)
                db.execute("COMMIT")
        except BaseException:
            f.close()
            raise
        return f

    def _make(self, digest: str, key: str, path: Path, make: Make) -> BinaryIO:
        tmp = self._tmp / f"{digest}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        try:
            make(tmp)
            f = tmp.open("rb")
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        try:
            size = os.fstat(f.fileno()).st_size
            if size > self.max_bytes:
                tmp.unlink()  # too big to keep: served from the open file only
                return f
            path.parent.mkdir(exist_ok=True)
            with self._db() as db:
                db.execute("BEGIN IMMEDIATE")
                tmp.replace(path)
                self._touch(db, digest, key, size)
                self._evict(db)
                db.execute("COMMIT")
        except BaseException:
            f.close()
            tmp.unlink(missing_ok=True)
            raise
        return f

    def _touch(self, db: sqlite3.Connection, digest: str, key: str, size: int) -> None:
        (tick,) = db.execute("UPDATE clock SET tick = tick + 1 RETURNING tick").fetchone()
        db.execute(
            "INSERT INTO entries (digest, key, size, used) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (digest) DO UPDATE SET size = excluded.size, used = excluded.used",
            (digest, key, size, tick),
        )

    def _evict(self, db: sqlite3.Connection) -> None:
        """Least recently used first until the kept bytes fit (inside the write lock)."""
        (total,) = db.execute("SELECT coalesce(sum(size), 0) FROM entries").fetchone()
        if total <= self.max_bytes:
            return
        for digest, size in db.execute("SELECT digest, size FROM entries ORDER BY used").fetchall():
            db.execute("DELETE FROM entries WHERE digest = ?", (digest,))
            self._path(digest).unlink(missing_ok=True)
            total -= size
            if total <= self.max_bytes:
                return

    @contextlib.contextmanager
    def _key_lock(self, digest: str) -> Iterator[None]:
        with self._making_guard:
            lock, users = self._making.setdefault(digest, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._making_guard:
                users[0] -= 1
                if not users[0]:
                    del self._making[digest]

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection (sqlite3 connections are not shared between threads);
        on an error inside a transaction, roll it back so the lock is released."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(
                self.root / INDEX_NAME, timeout=60, isolation_level=None,
                check_same_thread=True,
            )  # fmt: skip
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        try:
            yield db
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _reconcile(self) -> None:
        """After a crash: files nobody indexed are removed, entries without a file are
        dropped (under the write lock, so no other process is renaming a file in); then
        the bound is applied, in case it was lowered."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            known = {r[0] for r in db.execute("SELECT digest FROM entries")}
            on_disk = {p.name: p for p in self._items.glob("*/*")}
            for digest in on_disk.keys() - known:
                on_disk[digest].unlink(missing_ok=True)
            for digest in known - on_disk.keys():
                db.execute("DELETE FROM entries WHERE digest = ?", (digest,))
            self._evict(db)  # VELLUM_MEDIA_CACHE_MB may have been lowered since
            db.execute("COMMIT")

    def _sweep_tmp(self) -> None:
        """Files a dead process left in tmp/ (a live maker renames or removes its own)."""
        now = time.time()
        for leftover in self._tmp.iterdir():
            with contextlib.suppress(OSError):
                if now - leftover.stat().st_mtime > STALE_TMP_S:
                    leftover.unlink()


def _forget(db: sqlite3.Connection, items: Path, prefix: str) -> int:
    db.execute("BEGIN IMMEDIATE")
    try:
        rows = db.execute(
            "SELECT digest FROM entries WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
        ).fetchall()
        for (digest,) in rows:
            db.execute("DELETE FROM entries WHERE digest = ?", (digest,))
            (items / digest[:2] / digest).unlink(missing_ok=True)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return len(rows)


def forget_task(data_dir: str | Path, task_id: int) -> int:
    """Drop a deleted task's entries, from any process (no cache yet: nothing to do). A
    request already running may still add one back; LRU eviction takes it later."""
    root = cache_root(data_dir)
    if not (root / INDEX_NAME).is_file():
        return 0
    db = sqlite3.connect(root / INDEX_NAME, timeout=60, isolation_level=None)
    try:
        return _forget(db, root / "items", task_prefix(task_id))
    finally:
        db.close()


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@functools.cache
def _shared(root: str, max_bytes: int) -> ChunkCache:
    return ChunkCache(Path(root), max_bytes)


def cache_root(data_dir: str | Path) -> Path:
    return Path(data_dir) / "data" / "cache" / "chunks"


def for_data_dir(data_dir: str | Path, max_mb: int) -> ChunkCache:
    """The process's cache for a data directory (VELLUM_DATA_DIR, VELLUM_MEDIA_CACHE_MB)."""
    return _shared(str(cache_root(data_dir).resolve()), max_mb * 2**20)
