"""A request whose queue job is gone (the worker died with it) is failed with a clear
message when a worker starts, instead of being polled forever."""

from __future__ import annotations

import uuid

from arq.connections import RedisSettings, create_pool

from backend.services.requests import INTERRUPTED_MESSAGE, fail_orphans


async def test_requests_without_a_queue_job_are_failed(pool, services) -> None:
    redis = await create_pool(RedisSettings.from_dsn(services.redis_url + "?db=9"))
    orphan, alive, done = (str(uuid.uuid4()) for _ in range(3))
    await redis.enqueue_job("ping", "x", _job_id=alive)  # still queued: must stay alone
    async with pool.connection() as conn:
        for rq_id, status in ((orphan, "started"), (alive, "queued"), (done, "finished")):
            await conn.execute(
                "INSERT INTO requests (id, owner_id, status, operation) VALUES (%s, 1, %s,"
                ' \'{"type": "create:task", "target": "task"}\'::jsonb)',
                [rq_id, status],
            )
        assert await fail_orphans(conn, redis) == 1
        cur = await conn.execute("SELECT id::text, status, message FROM requests")
        states = {row[0]: (row[1], row[2]) for row in await cur.fetchall()}
    assert states[orphan] == ("failed", INTERRUPTED_MESSAGE)
    assert states[alive][0] == "queued" and states[done][0] == "finished"
    await redis.flushdb()
    await redis.aclose()
