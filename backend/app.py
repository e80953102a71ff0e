"""Starlette app factory: routes, middleware, lifespan. No logic here."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import pkgutil
from collections.abc import AsyncIterator
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from backend.api import errors
from backend.api.routing import ApiRouter, Endpoint, starlette_routes
from backend.bootstrap import bootstrap
from backend.metrics import metrics
from backend.projections.registry import all_projections
from backend.projections.runner import Projector
from backend.realtime.hub import Hub, websocket_endpoint
from backend.settings import Settings
from backend.web_ui import web_routes

log = structlog.get_logger(__name__)


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        container = await bootstrap(settings)
        app.state.container = container
        stop = asyncio.Event()
        background: list[asyncio.Task[None]] = []
        worker = None
        if settings.inprocess_projector:
            projector = Projector(
                container.pool, container.store, all_projections(),
                batch=settings.projector_batch, poll_s=settings.projector_poll_s,
            )  # fmt: skip
            background.append(asyncio.create_task(projector.run(stop), name="projector"))
            if settings.webhook_delivery:
                from backend.webhooks.delivery import deliverer_for

                webhooks = deliverer_for(container.pool, settings)
                background.append(asyncio.create_task(webhooks.run(stop), name="webhooks"))
        if settings.inprocess_worker:
            from workers.settings import build_worker

            worker = build_worker(settings.redis_url, handle_signals=False, container=container)
            background.append(asyncio.create_task(worker.main(), name="worker"))
        app.state.realtime = realtime = Hub(container)
        await realtime.start()
        log.info("vellum started", projector=settings.inprocess_projector, worker=bool(worker))
        try:
            yield
        finally:
            stop.set()
            await realtime.stop()
            if worker is not None:
                await worker.close()
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await container.close()

    routes = [
        *starlette_routes(all_endpoints()),
        Route("/metrics", metrics, methods=["GET"]),
        WebSocketRoute("/api/ws", websocket_endpoint),
        *web_routes(settings),  # last: its catch-all must not shadow the API
    ]
    handlers: dict[Any, Any] = {cls: errors.handle for cls in errors.EXPECTED}
    handlers[Exception] = errors.handle
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers)


def all_endpoints() -> list[Endpoint]:
    """Every `router` declared by a module of backend.api, in module order."""
    import backend.api

    endpoints: list[Endpoint] = []
    for info in sorted(pkgutil.iter_modules(backend.api.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"backend.api.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, ApiRouter):
            endpoints.extend(router.endpoints)
    return endpoints
