"""arq worker: the functions it runs and how it connects. Long work (media, import/export,
webhooks) lands here in later issues; `ping` proves the queue end to end."""

from __future__ import annotations

from typing import Any

from arq.connections import RedisSettings
from arq.worker import Worker


async def ping(ctx: dict[str, Any], value: str) -> str:
    return f"pong:{value}"


FUNCTIONS = [ping]


def build_worker(redis_url: str, *, handle_signals: bool) -> Worker:
    return Worker(
        functions=FUNCTIONS,
        redis_settings=RedisSettings.from_dsn(redis_url),
        handle_signals=handle_signals,
        allow_abort_jobs=True,
        poll_delay=0.2,
    )
