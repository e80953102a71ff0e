"""Helpers for tests that run `vellum` as a real subprocess."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

VELLUM = str(Path(sys.executable).with_name("vellum"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def vellum_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VELLUM_")}
    env.update({f"VELLUM_{k.upper()}": v for k, v in settings.items()})
    env["VELLUM_LOG_FORMAT"] = "json"
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([VELLUM, *args], env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"process exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bytes(response.read())
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT, timeout: float = 30) -> int:
    proc.send_signal(sig)
    return proc.wait(timeout)


class Server(NamedTuple):
    proc: subprocess.Popen[bytes]
    url: str
    env: dict[str, str]


@contextlib.contextmanager
def serving(data: Path, log: Path, sig: int = signal.SIGINT, **settings: str) -> Iterator[Server]:
    """`vellum serve` on a free port over `data`, answering once the block starts; stopped
    with `sig` at the end (which must exit 0), unless the block already ended it."""
    port = free_port()
    env = vellum_env(data_dir=str(data), port=str(port), **settings)
    proc = start(["serve"], env, log)
    server = Server(proc, f"http://127.0.0.1:{port}", env)
    try:
        wait_http(f"{server.url}/api/server/about", proc)
        yield server
    finally:
        if proc.poll() is None:
            code = stop(proc, sig)
            assert code == 0, log.read_text()[-3000:]
