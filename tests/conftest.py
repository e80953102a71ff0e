"""Shared fixtures: ONE embedded Postgres and Redis per test run (started by the project's
own devstack), and a fresh migrated database per test that asks for one."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import NamedTuple

import psycopg
import pytest

from backend.db import migrate, open_pool
from backend.devstack import EmbeddedServices


@pytest.fixture(scope="session")
def services() -> Iterator[EmbeddedServices]:
    """Embedded Postgres + Redis for the whole run, or external ones when
    VELLUM_TEST_DATABASE_URL / VELLUM_TEST_REDIS_URL are set."""
    db_url = os.environ.get("VELLUM_TEST_DATABASE_URL", "")
    redis_url = os.environ.get("VELLUM_TEST_REDIS_URL", "")
    if db_url and redis_url:
        svc = EmbeddedServices(tempfile.gettempdir())
        svc.database_url, svc.redis_url = db_url, redis_url
        yield svc
        return
    root = tempfile.mkdtemp(prefix="vellum-test-")
    try:
        with EmbeddedServices(root) as svc:
            yield svc
    finally:
        shutil.rmtree(root, ignore_errors=True)


def database_url(base_url: str, name: str) -> str:
    """The URL of database `name` on the server of `base_url` (a postgresql:// URL)."""
    parts = urllib.parse.urlsplit(base_url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def template_db(services: EmbeddedServices) -> str:
    """A migrated database used as the template of every fresh database."""
    import asyncio

    name = "vellum_template"
    with psycopg.connect(services.database_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    asyncio.run(migrate(database_url(services.database_url, name)))
    return name


@pytest.fixture
def fresh_db_url(services: EmbeddedServices, template_db: str) -> str:
    """The URL of a new, empty, migrated database (isolation without a new server)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(services.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template_db} STRATEGY FILE_COPY")
    return database_url(services.database_url, name)


@pytest.fixture
async def pool(fresh_db_url: str) -> AsyncIterator[object]:
    p = await open_pool(fresh_db_url, min_size=1, max_size=20)
    try:
        yield p
    finally:
        await p.close()


class Server(NamedTuple):
    url: str  # http://127.0.0.1:PORT
    admin: tuple[str, str]  # username, password
    database_url: str
    data_dir: str


ADMIN = ("admin", "admin-Passw0rd!")


@contextlib.contextmanager
def api_server(
    services: EmbeddedServices, template_db: str, *, redis_db: int, **settings: str
) -> Iterator[Server]:
    """A `vellum serve` process on a fresh database of the run's Postgres and its own Redis
    database (`redis_db`: one per concurrently running server), with the projector and the
    arq worker in-process as `make run` has them; VELLUM_* `settings` on top."""
    from tests.integration.helpers import free_port, start, stop, vellum_env, wait_http

    name = f"api_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(services.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template_db} STRATEGY FILE_COPY")
    db_url = database_url(services.database_url, name)
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="vellum-api-")
    env = vellum_env(
        database_url=db_url,
        redis_url=f"{services.redis_url}?db={redis_db}",
        port=str(port),
        data_dir=data_dir,
        admin_user=ADMIN[0],
        admin_password=ADMIN[1],
        **settings,
    )
    log = Path(data_dir) / "serve.log"
    proc = start(["serve"], env, log)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/server/about", proc)
        yield Server(f"http://127.0.0.1:{port}", ADMIN, db_url, data_dir)
    finally:
        code = stop(proc)
        if code != 0:
            print(log.read_text()[-5000:])
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server(services: EmbeddedServices, template_db: str) -> Iterator[Server]:
    """ONE server for the API and client tests of this run (tests that would disturb it,
    like the fuzzer, start their own with `api_server`)."""
    with api_server(services, template_db, redis_db=1) as running:
        yield running


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 endpoint for the run: `moto_server` from the virtualenv on a free port of
    127.0.0.1 (servers that use it need VELLUM_URL_ALLOWLIST=127.0.0.1). Stopped by its pid."""
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.integration.helpers import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    binary = Path(sys.executable).with_name("moto_server")
    log_dir = tempfile.mkdtemp(prefix="vellum-moto-")
    with (Path(log_dir) / "moto.log").open("ab") as log:
        proc = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"moto_server exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("moto_server did not answer within 60 s") from None
                time.sleep(0.1)
        yield url
    finally:
        os.kill(proc.pid, 15)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, 9)
            proc.wait(10)
        shutil.rmtree(log_dir, ignore_errors=True)
