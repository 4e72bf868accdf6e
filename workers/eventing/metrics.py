"""Prometheus metrics of the backbone: what each worker process (and the projector) exposes.

The consumer, the relay and the heartbeat call these hooks once per batch or per beat,
never per event: label children are looked up once and cached, so the hot path pays a
dictionary lookup and an addition. A process serves its metrics on
``<PROCESS>_METRICS_PORT`` (e.g. ``ORDERS_METRICS_PORT``) or ``METRICS_PORT``; unset,
nothing listens. The web process serves its own on ``GET /metrics`` (``app/ops/metrics.py``).
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from workers.eventing.settings import Settings

_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

EVENTS_HANDLED = Counter("events_handled_total", "Events a consumer group handled (committed)", ["group", "type"])
EVENTS_FAILED = Counter("events_failed_total", "Failed deliveries of an event to a group's handler", ["group", "type"])
EVENTS_DEAD_LETTERED = Counter(
    "events_dead_lettered_total", "Events a group gave up on and moved to the dlq stream", ["group", "type"]
)
BATCH_SECONDS = Histogram(
    "consumer_handler_seconds", "Time to handle one batch read, in its transaction", ["group"], buckets=_SECONDS
)
BATCH_SIZE = Histogram(
    "consumer_batch_size", "Events in one batch read", ["group"], buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
)
RELAY_SECONDS = Histogram(
    "relay_publish_seconds",
    "One batch of outbox rows published: the XADD pipeline's round trip (the relay's, or a consumer's with its XACK)",
    ["service"],
    buckets=_SECONDS,
)
RELAY_PUBLISHED = Counter(
    "relay_published_total", "Outbox rows published (by the relay, or by a consumer with its XACK)", ["service"]
)
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox rows not yet published (at the last heartbeat)", ["service"])
OUTBOX_OLDEST = Gauge("outbox_oldest_unsent_seconds", "Age of the oldest unpublished outbox row (0: none)", ["service"])

_children: dict[tuple[Any, ...], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    key = (id(metric), *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def batch_handled(group: str, handled: Sequence[Any], failed: Sequence[Any], seconds: float) -> None:
    """One batch's outcome: ``handled`` and ``failed`` are Received events (failed: (event, error) pairs)."""
    _child(BATCH_SECONDS, group).observe(seconds)
    _child(BATCH_SIZE, group).observe(len(handled) + len(failed))
    for event_type, count in collections.Counter(r.envelope.type for r in handled).items():
        _child(EVENTS_HANDLED, group, event_type).inc(count)
    for received, _error in failed:
        _child(EVENTS_FAILED, group, received.envelope.type).inc()


def dead_lettered(group: str, event_type: str) -> None:
    _child(EVENTS_DEAD_LETTERED, group, event_type or "unknown").inc()


def relay_published(service: str, count: int, seconds: float) -> None:
    _child(RELAY_SECONDS, service).observe(seconds)
    _child(RELAY_PUBLISHED, service).inc(count)


def outbox_observed(service: str, backlog: int, oldest_unsent_age_s: float | None) -> None:
    _child(OUTBOX_BACKLOG, service).set(backlog)
    _child(OUTBOX_OLDEST, service).set(oldest_unsent_age_s or 0.0)


def metrics_port(settings: Settings, process: str) -> int:
    """The port this process serves its metrics on (0: none)."""
    return settings.integer(f"{process.upper()}_METRICS_PORT", settings.integer("METRICS_PORT", 0))


def serve(settings: Settings, process: str) -> int:
    """Serve this process's metrics over HTTP if a port is set; returns the port (0: not serving)."""
    port = metrics_port(settings, process)
    if port:
        start_http_server(port, addr=settings.text("METRICS_HOST", "127.0.0.1"))
    return port
