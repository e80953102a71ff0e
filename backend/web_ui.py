"""Serving the built browser UI (web/dist): hashed assets under /assets with long caching,
and index.html for every other non-API path so the single-page app's own routes
(/tasks/3, /jobs/7) survive a reload. The API, /metrics and the websocket keep their routes:
the page's route never matches an /api path, so an unknown API path stays a JSON 404 and a
known one called with the wrong method a 405, as without the UI."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

from backend.settings import Settings


class _PagePath(Convertor[str]):
    """Any path but /api and below (a route that matched those, even only by path, would
    turn the API's 404s and 405s into this page's answers)."""

    regex = r"(?!api(?:/|$)).*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("page", _PagePath())

_CHECKOUT_DIST = Path(__file__).resolve().parent.parent / "web" / "dist"


def web_root(settings: Settings) -> Path:
    return Path(settings.web_root) if settings.web_root else _CHECKOUT_DIST


def web_routes(settings: Settings) -> list[BaseRoute]:
    """Routes for the UI; none when it has not been built (the API works without it)."""
    root = web_root(settings)
    index = root / "index.html"
    if not index.is_file():
        return []

    async def page(request: Request) -> Response:
        if not index.is_file():  # `make web` is writing a new build into web/dist
            raise HTTPException(503, "The UI is being rebuilt; try again in a moment.")
        # The page itself is never cached: a new build must reach browsers at once.
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    routes: list[BaseRoute] = []
    if (root / "assets").is_dir():
        routes.append(Mount("/assets", app=_ImmutableStatic(directory=root / "assets")))
    routes += [Route("/", page), Route("/{path:page}", page)]
    return routes


class _ImmutableStatic(StaticFiles):
    """Vite names assets by content hash, so they may be cached for good."""

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
