"""arq worker: the functions it runs and how it connects. Long work (media, import/export,
webhooks) lands here in later issues; `ping` proves the queue end to end."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from arq.connections import RedisSettings
from arq.worker import Function, Worker, func

from workers.backups import export_backup, restore_backup
from workers.dataset_import import import_project_dataset
from workers.formats_jobs import export_dataset, import_annotations
from workers.tasks_data import create_task_data, sweep_stale_builds

if TYPE_CHECKING:
    from backend.bootstrap import Container


async def ping(ctx: dict[str, Any], value: str) -> str:
    return f"pong:{value}"


FUNCTIONS: list[Function] = [
    func(ping),
    func(create_task_data, timeout=6 * 3600, max_tries=1),
    func(export_dataset, timeout=6 * 3600, max_tries=1),
    func(import_annotations, timeout=6 * 3600, max_tries=1),
    func(import_project_dataset, timeout=6 * 3600, max_tries=1),
    func(export_backup, timeout=6 * 3600, max_tries=1),
    func(restore_backup, timeout=6 * 3600, max_tries=1),
]


async def _startup(ctx: dict[str, Any]) -> None:
    """A worker of its own (`vellum worker`) wires its own container; the in-process one
    gets the app's (`build_worker(..., container=...)`)."""
    if "container" not in ctx:
        from backend.bootstrap import bootstrap
        from backend.settings import load_settings

        ctx["container"] = await bootstrap(load_settings())
        ctx["own_container"] = True
    from backend.services.requests import fail_orphans

    async with ctx["container"].pool.connection() as conn:
        failed = await fail_orphans(conn, ctx["redis"])
    await sweep_stale_builds(ctx["container"])
    if failed:
        structlog.get_logger(__name__).warning("failed interrupted requests", count=failed)


async def _shutdown(ctx: dict[str, Any]) -> None:
    if ctx.pop("own_container", False):
        await ctx.pop("container").close()


def build_worker(
    redis_url: str, *, handle_signals: bool, container: Container | None = None
) -> Worker:
    return Worker(
        functions=FUNCTIONS,
        ctx={"container": container} if container is not None else {},
        on_startup=_startup,
        on_shutdown=_shutdown,
        redis_settings=RedisSettings.from_dsn(redis_url),
        handle_signals=handle_signals,
        allow_abort_jobs=True,
        poll_delay=0.2,
    )
