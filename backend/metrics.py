"""Prometheus metrics, served at /metrics."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

EVENTS_APPENDED = Counter("vellum_events_appended", "Events appended by this process")
APPEND_BATCH_SIZE = Histogram(
    "vellum_append_batch_appends",
    "Appends committed together in one group-commit transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
PROJECTION_POSITION = Gauge(
    "vellum_projection_position", "Last global position applied to a read model", ["projection"]
)


async def metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
