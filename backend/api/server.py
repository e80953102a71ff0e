"""/api/server/*: what clients ask before anything else."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from backend.api.responses import json_response

# cvat-sdk 2.80 accepts servers ~=2.80.0 / ~=2.81.0 (see the README's compatibility notes).
CVAT_COMPATIBLE_VERSION = "2.80.0"


async def about(request: Request) -> Response:
    return json_response(
        {
            "name": "Vellum",
            "description": "Event-sourced, realtime collaborative annotation server "
            "speaking the CVAT REST API.",
            "version": CVAT_COMPATIBLE_VERSION,
            "logo_url": "",
            "subtitle": "Collaborative annotation with a complete audit trail",
        }
    )
