"""A worker that starts removes the build directories a killed process left behind, and
keeps those of requests still queued or running (another worker may be building)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from backend.media.storage import TaskStorage
from backend.services import requests
from workers.tasks_data import sweep_stale_builds


async def test_worker_start_sweeps_builds_of_requests_no_longer_running(
    pool: Any, tmp_path: Path
) -> None:
    operation = requests.Operation(type="create:task", target="task", task_id=1)
    async with pool.connection() as conn:
        running = await requests.create(conn, owner_id=1, operation=operation)
        assert await requests.mark_started(conn, running)
        queued = await requests.create(conn, owner_id=1, operation=operation)
        failed = await requests.create(conn, owner_id=1, operation=operation)
        await requests.fail(conn, failed, "killed")
    first, second = TaskStorage(tmp_path, 1), TaskStorage(tmp_path, 2)
    kept = [
        first.build_dir(running),
        first.build_dir(queued),
        second.build_dir(f"{queued}-sources"),
    ]
    gone = [first.build_dir(failed), second.build_dir("0" * 8 + "-0000-0000-0000-" + "0" * 12)]
    for directory in kept + gone:
        (directory / "frames").mkdir(parents=True)
    (first.root / "data").mkdir()  # a published data set is never touched
    container = SimpleNamespace(settings=SimpleNamespace(data_dir=str(tmp_path)), pool=pool)
    assert await sweep_stale_builds(container) == 2  # type: ignore[arg-type]
    assert all(d.is_dir() for d in kept) and not any(d.exists() for d in gone)
    assert (first.root / "data").is_dir()
