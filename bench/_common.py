"""Shared benchmark plumbing: services (embedded unless VELLUM_DATABASE_URL is set), a fresh
migrated database, and the one-JSON-object-per-figure output convention."""

from __future__ import annotations

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
def database() -> Iterator[str]:
    """URL of a fresh, migrated database on the configured or an embedded server."""
    base = os.environ.get("VELLUM_DATABASE_URL", "")
    services = None
    root = ""
    if not base:
        root = tempfile.mkdtemp(prefix="vellum-bench-")
        services = EmbeddedServices(root).start()
        base = services.database_url
    name = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        parts = urllib.parse.urlsplit(base)
        url = urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
        import asyncio

        asyncio.run(migrate(url))
        yield url
    finally:
        with contextlib.suppress(psycopg.Error), psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if services is not None:
            services.stop()
            shutil.rmtree(root, ignore_errors=True)


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
