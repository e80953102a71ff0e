"""Shared fixtures: ONE embedded Postgres and Redis per test run (started by the project's
own devstack), and a fresh migrated database per test that asks for one."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator

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
    root = tempfile.mkdtemp(prefix="vellum-test-")
    svc = EmbeddedServices(root)
    if db_url and redis_url:
        svc.database_url, svc.redis_url = db_url, redis_url
        yield svc
        return
    with svc:
        yield svc


def database_url(base_url: str, name: str) -> str:
    """The URL of database `name` on the server of `base_url`."""
    info = psycopg.conninfo.conninfo_to_dict(base_url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]


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
