"""Shared benchmark plumbing: services (embedded unless VELLUM_DATABASE_URL is set), a fresh
migrated database, and the one-JSON-object-per-figure output convention."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Iterator

import psycopg

from backend.db import migrate
from backend.devstack import EmbeddedServices


@contextlib.contextmanager
def services() -> Iterator[tuple[str, str]]:
    """(URL of a fresh migrated database, Redis URL): the servers VELLUM_DATABASE_URL and
    VELLUM_REDIS_URL name, or embedded ones in a temporary directory."""
    base, redis = os.environ.get("VELLUM_DATABASE_URL", ""), os.environ.get("VELLUM_REDIS_URL", "")
    root, embedded = "", None
    if not (base and redis):
        root = tempfile.mkdtemp(prefix="vellum-bench-")
        embedded = EmbeddedServices(root).start()
        base, redis = embedded.database_url, embedded.redis_url
    name = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        url = urllib.parse.urlunsplit(urllib.parse.urlsplit(base)._replace(path=f"/{name}"))
        asyncio.run(migrate(url))
        yield url, redis
    finally:
        with contextlib.suppress(psycopg.Error), psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if embedded is not None:
            embedded.stop()
            shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def database() -> Iterator[str]:
    """URL of a fresh, migrated database (see `services`)."""
    with services() as (url, _):
        yield url


def report(
    name: str, value: float, unit: str, baseline: float, target: str, ok: bool, **extra: object
) -> None:
    """One figure. `ratio` is value / baseline: for rates higher is better; for durations
    it is the overhead over the raw baseline."""
    ratio = value / baseline if baseline else float("inf")
    line = {
        "name": name, "value": round(value, 4), "unit": unit, "baseline": round(baseline, 4),
        "ratio": round(ratio, 3), "target": target, "ok": ok, **extra,
    }  # fmt: skip
    print(json.dumps(line), flush=True)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def timed(func: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await func()
    return time.perf_counter() - started


def median(values: list[float]) -> float:
    return statistics.median(values)
