"""The web process's own Prometheus instruments, in a module that imports nothing of the app
(the live hub and the HTTP middleware both record into them; ``app.ops.metrics`` serves them)."""

from __future__ import annotations

from prometheus_client import Gauge, Histogram

_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_SECONDS = Histogram(
    "http_request_duration_seconds",
    "HTTP requests by route template, method and status",
    ["method", "route", "status"],
    buckets=_SECONDS,
)
SOCKETS_OPEN = Gauge("websockets_open", "WebSocket connections open, by route template", ["route"])
FANOUT_SECONDS = Histogram(
    "live_fanout_seconds", "Live push: one change offered to every subscribed socket", buckets=_SECONDS
)
