"""`vellum serve` with the embedded default: starts Postgres + Redis under its data dir,
answers HTTP, keeps data across restarts, and leaves no orphan process on any exit."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from backend.devstack import running_service_processes

from .helpers import VELLUM, serving, vellum_env, wait_http


def _no_orphans(data_dir: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while running_service_processes(data_dir):
        if time.monotonic() > deadline:
            raise AssertionError(f"orphans left: {running_service_processes(data_dir)}")
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_serve_stops_everything_it_started(tmp_path: Path, sig: int) -> None:
    data = tmp_path / "data"
    with serving(data, tmp_path / "serve.log", sig, admin_password="s3cret-pass") as server:
        about = json.loads(wait_http(f"{server.url}/api/server/about", server.proc))
        assert about["version"] == "2.80.0"
        # The first start appended the admin's UserCreated; the in-process projector ran
        # (generous deadlines: a loaded CI machine starts Postgres slowly).
        deadline = time.monotonic() + 30
        while b'vellum_projection_position{projection="jobs"}' not in (
            metrics := wait_http(f"{server.url}/metrics", server.proc)
        ):
            assert time.monotonic() < deadline, metrics.decode()[-2000:]
            time.sleep(0.1)
        assert b"vellum_events_appended_total 1.0" in metrics
        assert len(running_service_processes(data)) >= 2  # postgres (+ its workers) and redis
    _no_orphans(data)


def test_data_survives_restart_and_admin_is_created_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    log = tmp_path / "serve.log"
    for _ in range(2):
        with serving(data, log):
            pass
        _no_orphans(data)
        assert log.read_text().count("Created admin user 'admin' with password") == 1


def test_a_killed_server_leaves_no_redis_and_the_next_start_recovers(tmp_path: Path) -> None:
    data = tmp_path / "data"
    log = tmp_path / "serve.log"
    with serving(data, log) as server:
        server.proc.kill()  # no chance to clean up: redis must die with it (parent-death signal)
        server.proc.wait()
    with serving(data, log):
        pass
    _no_orphans(data)


def test_cli_commands_leave_a_running_server_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serving(data, tmp_path / "serve.log") as server:
        for args in (["migrate"], ["replay"]):
            done = subprocess.run([VELLUM, *args], env=server.env, capture_output=True, timeout=120)
            assert done.returncode == 0, done.stderr.decode()[-2000:]
        # Postgres and Redis still serve the running server.
        assert server.proc.poll() is None
        wait_http(f"{server.url}/api/server/about", server.proc, timeout=5)
        names = {p.name() for p in running_service_processes(data)}
        assert {"postgres", "redis-server"} <= names
    _no_orphans(data)


def test_invalid_setting_fails_at_start_naming_the_variable(tmp_path: Path) -> None:
    env = vellum_env(data_dir=str(tmp_path), port="eighty")
    result = subprocess.run([VELLUM, "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "VELLUM_PORT" in result.stderr
    assert not running_service_processes(tmp_path)
