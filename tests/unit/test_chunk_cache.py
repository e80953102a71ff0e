"""The bounded LRU disk cache: exact least-recently-used eviction, the size bound, items
larger than the cache, failures in `make`, and many writers (threads and processes)."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from backend.media.chunk_cache import ChunkCache, cache_root, forget_task, task_key, task_prefix


def maker(data: bytes, calls: list[str] | None = None, key: str = "") -> Callable[[Path], None]:
    def make(target: Path) -> None:
        if calls is not None:
            calls.append(key)
        target.write_bytes(data)

    return make


def read(cache: ChunkCache, key: str, data: bytes, calls: list[str] | None = None) -> bytes:
    with cache.get(key, maker(data, calls, key)) as f:
        return f.read()


def kept_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "items").glob("*/*"))


def test_miss_makes_then_hits_do_not(tmp_path: Path) -> None:
    cache = ChunkCache(tmp_path, 1000)
    calls: list[str] = []
    assert read(cache, "a", b"x" * 10, calls) == b"x" * 10
    assert read(cache, "a", b"other", calls) == b"x" * 10  # served from the cache
    assert calls == ["a"]
    assert cache.size() == 10 == kept_bytes(tmp_path)


def test_eviction_follows_last_use_not_insertion(tmp_path: Path) -> None:
    cache = ChunkCache(tmp_path, 300)
    for key in "abc":
        read(cache, key, b"1" * 100)
    read(cache, "a", b"")  # a is now the most recently used
    assert cache.keys_by_use() == ["b", "c", "a"]
    read(cache, "d", b"2" * 100)  # 400 > 300: the least recently used (b) goes
    assert cache.keys_by_use() == ["c", "a", "d"]
    calls: list[str] = []
    assert read(cache, "b", b"3" * 100, calls) == b"3" * 100  # evicted: made again
    assert calls == ["b"]
    assert cache.keys_by_use() == ["a", "d", "b"]  # ... which evicted c
    assert cache.size() == 300 == kept_bytes(tmp_path)


def test_one_new_item_may_evict_several(tmp_path: Path) -> None:
    cache = ChunkCache(tmp_path, 100)
    for key in "abcd":
        read(cache, key, b"1" * 25)
    read(cache, "big", b"2" * 80)
    assert cache.keys_by_use() == ["big"] and kept_bytes(tmp_path) == 80


def test_item_larger_than_the_cache_is_served_not_kept(tmp_path: Path) -> None:
    cache = ChunkCache(tmp_path, 100)
    read(cache, "small", b"s" * 50)
    calls: list[str] = []
    assert read(cache, "huge", b"h" * 101, calls) == b"h" * 101
    assert read(cache, "huge", b"h" * 101, calls) == b"h" * 101
    assert calls == ["huge", "huge"]  # never kept, so made each time
    assert cache.keys_by_use() == ["small"]  # and it evicted nothing
    assert not list((tmp_path / "tmp").iterdir())


def test_a_failing_make_keeps_nothing(tmp_path: Path) -> None:
    cache = ChunkCache(tmp_path, 100)

    def broken(target: Path) -> None:
        target.write_bytes(b"half")
        raise ValueError("decoder failed")

    with pytest.raises(ValueError, match="decoder failed"):
        cache.get("k", broken)
    assert cache.keys_by_use() == [] and not list((tmp_path / "tmp").iterdir())
    assert read(cache, "k", b"ok") == b"ok"


def test_an_open_item_survives_its_eviction(tmp_path: Path) -> None:
    cache = ChunkCache(tmp_path, 100)
    with cache.get("a", maker(b"a" * 60)) as held:
        read(cache, "b", b"b" * 60)  # evicts a while it is open
        assert cache.keys_by_use() == ["b"]
        assert held.read() == b"a" * 60


def test_a_new_process_sees_the_same_cache_and_cleans_leftovers(tmp_path: Path) -> None:
    first = ChunkCache(tmp_path, 1000)
    read(first, "a", b"1" * 10)
    orphan = tmp_path / "items" / "00" / ("0" * 64)  # a file a crash left unindexed
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"?")
    stale = tmp_path / "tmp" / "stale"
    stale.write_bytes(b"?")
    os.utime(stale, (0, 0))
    second = ChunkCache(tmp_path, 1000)
    calls: list[str] = []
    assert read(second, "a", b"", calls) == b"1" * 10 and calls == []
    assert not orphan.exists() and not stale.exists()


def test_a_lowered_limit_applies_when_the_cache_is_opened(tmp_path: Path) -> None:
    cache = ChunkCache(tmp_path, 1000)
    for key in "abc":
        read(cache, key, b"1" * 300)
    assert ChunkCache(tmp_path, 700).keys_by_use() == ["b", "c"]
    assert kept_bytes(tmp_path) == 600


def test_forget_drops_a_task(tmp_path: Path) -> None:
    cache = ChunkCache(tmp_path, 1000)
    read(cache, task_key(1, "v1", "chunk", 0), b"a")
    read(cache, task_key(12, "v1", "chunk", 0), b"b")
    assert cache.forget(task_prefix(1)) == 1  # task/1/..., not task/12/...
    assert cache.keys_by_use() == ["task/12/v1/chunk/0"]


def test_forget_task_works_from_a_process_without_the_cache_open(tmp_path: Path) -> None:
    assert forget_task(tmp_path, 3) == 0  # no cache yet
    cache = ChunkCache(cache_root(tmp_path), 1000)
    read(cache, task_key(3, "v", "chunk", 0), b"a")
    read(cache, task_key(3, "v", "preview", 5), b"b")
    read(cache, task_key(4, "v", "chunk", 0), b"c")
    assert forget_task(tmp_path, 3) == 2
    assert cache.keys_by_use() == ["task/4/v/chunk/0"]
    assert kept_bytes(cache_root(tmp_path)) == 1


def test_concurrent_threads_make_each_key_once_and_stay_bounded(tmp_path: Path) -> None:
    cache = ChunkCache(tmp_path, 2000)
    calls: list[str] = []
    gate = threading.Barrier(8)

    def worker(n: int) -> list[bool]:
        gate.wait()
        ok = []
        for i in range(60):
            key = f"k{(i * 7 + n) % 30}"
            data = key.encode() * 40
            ok.append(read(cache, key, data, calls) == data)
        return ok

    with ThreadPoolExecutor(8) as pool:
        results = [r for rs in pool.map(worker, range(8)) for r in rs]
    assert all(results) and len(results) == 480
    assert kept_bytes(tmp_path) <= 2000 and cache.size() == kept_bytes(tmp_path)
    # Without eviction pressure on the first round every key would be made once; here
    # keys are evicted and re-made, but never made twice at the same time in one process.
    assert len(calls) < 480


def test_same_key_from_many_threads_is_made_once(tmp_path: Path) -> None:
    cache = ChunkCache(tmp_path, 10_000)
    calls: list[str] = []
    started = threading.Event()
    release = threading.Event()

    def slow(target: Path) -> None:
        calls.append("k")
        started.set()
        release.wait(10)
        target.write_bytes(b"v" * 100)

    def reader() -> bytes:
        with cache.get("k", slow) as f:
            return f.read()

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(reader) for _ in range(6)]
        assert started.wait(10)
        release.set()
        assert all(f.result() == b"v" * 100 for f in futures)
    assert calls == ["k"]


def _process_writer(root: str, seed: int, rounds: int) -> int:
    cache = ChunkCache(Path(root), 3000)
    bad = 0
    for i in range(rounds):
        key = f"k{(i * 13 + seed) % 40}"
        data = key.encode() * 50
        with cache.get(key, maker(data)) as f:
            bad += f.read() != data
    return bad


def test_two_processes_share_one_bounded_cache(tmp_path: Path) -> None:
    ChunkCache(tmp_path, 3000)  # create the index before the race
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        bad = pool.starmap(_process_writer, [(str(tmp_path), 0, 150), (str(tmp_path), 5, 150)])
    assert bad == [0, 0]
    cache = ChunkCache(tmp_path, 3000)
    assert 0 < kept_bytes(tmp_path) <= 3000
    assert cache.size() == kept_bytes(tmp_path)
    assert not list((tmp_path / "tmp").iterdir())
