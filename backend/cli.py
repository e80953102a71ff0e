"""vellum serve | worker | projector | migrate | replay | user."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator

import click
import msgspec
import structlog

from backend.log import configure_logging
from backend.settings import Settings, SettingsError, load_settings, unknown_variables

log = structlog.get_logger("vellum")


def _settings() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    configure_logging(settings.log_level, settings.log_format)
    for name in unknown_variables():
        log.warning("ignoring unknown setting", variable=name)
    return settings


@contextlib.contextmanager
def _services(settings: Settings, *, serving: bool = False) -> Iterator[Settings]:
    """Start the embedded Postgres (and, for `serve`, Redis) for whatever URL is not set;
    stop them on exit, whatever the exit (return, exception, Ctrl-C, SIGTERM).

    `serve` owns the embedded stack, and adopts a Postgres left running by a killed earlier
    serve. Other commands (migrate, replay, user) use a running serve's Postgres if there
    is one and leave it running, and never touch Redis (they do not need it)."""
    if settings.database_url and (settings.redis_url or not serving):
        yield settings
        return
    from pathlib import Path

    from backend.devstack import EmbeddedServices

    services = EmbeddedServices(Path(settings.data_dir))
    if not settings.database_url:
        services.database_url = services.postgres.start()
    if serving and not settings.redis_url:
        try:
            services.redis_url = services.redis.start()
        except BaseException:
            services.postgres.stop()
            raise
    log.info("embedded services started", data_dir=settings.data_dir)
    try:
        yield msgspec.structs.replace(
            settings,
            database_url=settings.database_url or services.database_url,
            redis_url=settings.redis_url or services.redis_url,
        )
    finally:
        try:
            services.redis.stop()
        finally:
            services.postgres.stop(even_if_shared=serving)
        log.info("embedded services stopped")


def _require_urls(settings: Settings, command: str) -> None:
    if settings.embedded:
        raise click.ClickException(
            f"vellum {command} needs VELLUM_DATABASE_URL and VELLUM_REDIS_URL "
            "(the embedded default runs it inside `vellum serve`)"
        )


@click.group()
def main() -> None:
    """Vellum: event-sourced, realtime collaborative annotation (CVAT-compatible)."""


@main.command()
def serve() -> None:
    """Run the HTTP server (with the embedded Postgres/Redis unless URLs are set)."""
    import uvicorn

    from backend.app import create_app

    settings = _settings()
    # From here on SIGTERM/SIGHUP unwind like Ctrl-C, so the embedded services are stopped
    # whatever phase we are in (SIGTERM's default action would kill us first).
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGHUP, _raise_stop)
    with (
        contextlib.suppress(KeyboardInterrupt, _Stop),
        _services(settings, serving=True) as settings,
    ):
        asyncio.run(_prepare(settings))
        config = uvicorn.Config(
            create_app(settings), host=settings.host, port=settings.port,
            log_config=None, lifespan="on", ws="websockets-sansio",
        )  # fmt: skip
        server = uvicorn.Server(config)
        # uvicorn handles SIGINT/SIGTERM; a closed terminal (SIGHUP) must stop us cleanly too.
        # uvicorn re-raises SIGINT/SIGTERM through the handlers above once it has shut
        # down; SIGHUP (a closed terminal) it does not know.
        signal.signal(signal.SIGHUP, lambda *_: setattr(server, "should_exit", True))
        server.run()
        if not server.started:
            sys.exit(1)


class _Stop(BaseException):
    """SIGTERM/SIGHUP: unwind like KeyboardInterrupt."""


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop


async def _prepare(settings: Settings) -> None:
    from backend.bootstrap import bootstrap
    from backend.db import migrate
    from backend.iam.users import ensure_admin

    applied = await migrate(settings.database_url)
    if applied:
        log.info("migrations applied", names=applied)
    container = await bootstrap(settings)
    try:
        password = await ensure_admin(
            container.pool, container.store, settings.admin_user,
            settings.admin_password, settings.admin_email,
        )  # fmt: skip
    finally:
        await container.close()
    if password is not None:
        click.echo(
            f"\n  Created admin user {settings.admin_user!r} with password: {password}\n"
            "  (shown once; set VELLUM_ADMIN_PASSWORD to choose it)\n",
            err=True,
        )


@main.command()
def worker() -> None:
    """Run the arq worker as its own process (production)."""
    from workers.settings import build_worker

    settings = _settings()
    _require_urls(settings, "worker")
    build_worker(settings.redis_url, handle_signals=True).run()


@main.command()
def projector() -> None:
    """Run the projector as its own process (production)."""
    settings = _settings()
    _require_urls(settings, "projector")
    asyncio.run(_run_projector(settings))


async def _run_projector(settings: Settings) -> None:
    from backend.bootstrap import bootstrap
    from backend.db import migrate
    from backend.projections.registry import all_projections
    from backend.projections.runner import Projector

    await migrate(settings.database_url)
    container = await bootstrap(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        projector = Projector(
            container.pool, container.store, all_projections(),
            batch=settings.projector_batch, poll_s=settings.projector_poll_s,
        )  # fmt: skip
        loops = [projector.run(stop)]
        if settings.webhook_delivery:
            from backend.webhooks.delivery import deliverer_for

            loops.append(deliverer_for(container.pool, settings).run(stop))
        await asyncio.gather(*loops)
    finally:
        await container.close()


@main.command()
def migrate() -> None:
    """Apply pending database migrations (idempotent)."""
    from backend.db import migrate as run_migrations

    settings = _settings()
    with _services(settings) as settings:
        applied = asyncio.run(run_migrations(settings.database_url))
    click.echo("applied: " + ", ".join(applied) if applied else "up to date")


@main.command()
def replay() -> None:
    """Rebuild every read model from position 0 into fresh tables and report differences
    from the live ones. Exit status 1 when they differ."""
    from backend.projections.replay import replay_and_compare

    settings = _settings()
    with _services(settings) as settings:
        report = asyncio.run(replay_and_compare(settings.database_url))
    for line in report.lines():
        click.echo(line)
    if not report.identical:
        sys.exit(1)


@main.group()
def user() -> None:
    """Manage users."""


@user.command("create")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--email", default="")
@click.option("--superuser", is_flag=True, help="Give the user the admin role.")
def user_create(username: str, password: str, email: str, superuser: bool) -> None:
    settings = _settings()
    with _services(settings) as settings:
        user_id = asyncio.run(_create_user(settings, username, password, email, superuser))
    click.echo(f"created user {username!r} (id {user_id})")


async def _create_user(
    settings: Settings, username: str, password: str, email: str, superuser: bool
) -> int:
    from backend.bootstrap import bootstrap
    from backend.db import migrate
    from backend.iam.users import create_user

    await migrate(settings.database_url)
    container = await bootstrap(settings)
    try:
        return await create_user(
            container.pool, container.store, username=username, password=password,
            email=email, is_superuser=superuser,
        )  # fmt: skip
    finally:
        await container.close()
