"""Prometheus metrics of the realtime hub (exported by /metrics with the others)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CONNECTIONS = Gauge("vellum_ws_connections", "Open websocket sessions in this process")
OPS = Counter("vellum_ws_ops", "Websocket ops by result (ack or the nack reason)", ["result"])
RESYNCS = Counter("vellum_ws_resyncs", "Subscriptions dropped because the client was too slow")
