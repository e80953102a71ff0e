"""The composition root: wires settings to adapters (pool, event store, redis) once."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from psycopg_pool import AsyncConnectionPool

from backend.db import open_pool
from backend.eventstore.postgres import PostgresEventStore
from backend.projections.registry import all_projections
from backend.projections.runner import ProjectionWaiter
from backend.services.job_annotations import JobAnnotationsService
from backend.services.tasks import ResourceService
from backend.settings import Settings


@dataclass
class Container:
    settings: Settings
    pool: AsyncConnectionPool
    store: PostgresEventStore
    redis: aioredis.Redis
    annotations: JobAnnotationsService
    resources: ResourceService
    waiter: ProjectionWaiter

    async def close(self) -> None:
        await self.waiter.stop()
        await self.store.close()
        await self.redis.aclose()
        await self.pool.close()


async def bootstrap(settings: Settings) -> Container:
    pool = await open_pool(settings.database_url, settings.db_pool_min, settings.db_pool_max)
    store = PostgresEventStore(pool, max_batch=settings.group_commit_max)
    client = aioredis.Redis.from_url(settings.redis_url)
    annotations = JobAnnotationsService(store, pool, snapshot_every=settings.snapshot_every)
    waiter = ProjectionWaiter(
        pool, [p.name for p in all_projections()], settings.read_your_writes_timeout_s
    )
    resources = ResourceService(store, pool, annotations)
    annotations.start_missing_job = resources.ensure_job_stream
    return Container(
        settings=settings, pool=pool, store=store, redis=client, annotations=annotations,
        resources=resources, waiter=waiter,
    )  # fmt: skip
