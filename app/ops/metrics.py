"""``GET /metrics`` of the web process: Prometheus text, its own figures and the system's.

The web process's own: HTTP latency by route template (never the raw path: one series
per route, whatever ids are in the URLs), open sockets by route, and the live hub's
fan-out time per change. At each scrape a collector adds what the ops console shows,
read from Redis and the gateway's own database: stream lengths, each group's lag and
pending entries, each service's outbox backlog and heartbeat age (from heartbeats),
dead letters, and orders by state in the read model.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import redis
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.access import public
from app.gateway import gateway
from app.http.instruments import HTTP_SECONDS, SOCKETS_OPEN
from app.ops.client import ops_redis
from app.ops.figures import STREAMS
from app.read_model import tables
from workers.contracts import SERVICES
from workers.contracts.orders import ORDER_STATUSES
from workers.eventing import Database
from workers.eventing.inspection import service_figures, stream_figures
from workers.eventing.redis_client import TRANSIENT_ERRORS

_http_children: dict[tuple[str, str, int], Any] = {}
_socket_children: dict[str, Any] = {}


def _template(scope: Scope) -> str:
    path = getattr(scope.get("route"), "path", None)
    if not path:
        return "unmatched"
    # A route under a mount (the JSON API's /api) has its path below the mount's: put the prefix back.
    mounted = str(scope.get("root_path", ""))[len(str(scope.get("app_root_path", ""))) :]
    return mounted + str(path)


class HttpMetrics:
    """ASGI middleware: time every request by route template; count open sockets.

    It sits inside ``KeepRawSend`` (it wraps ``send``, and the live push needs the server's own).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._socket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            key = (scope["method"], _template(scope), status)
            child = _http_children.get(key)
            if child is None:
                child = _http_children[key] = HTTP_SECONDS.labels(key[0], key[1], str(key[2]))
            child.observe(time.perf_counter() - started)

    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        gauge: Any = None

        async def counted(message: Message) -> None:
            nonlocal gauge
            if message["type"] == "websocket.accept" and gauge is None:
                route = _template(scope)
                gauge = _socket_children.get(route) or _socket_children.setdefault(route, SOCKETS_OPEN.labels(route))
                gauge.inc()
            await send(message)

        # Only the accept passes through here: the live push writes its frames beside ASGI.
        try:
            await self.app(scope, receive, counted)
        finally:
            if gauge is not None:
                gauge.dec()


class SystemCollector(Collector):
    """At each scrape: the streams, groups, services and dead letters (Redis) and orders by state (read model)."""

    def __init__(self, client: redis.Redis, db: Database) -> None:
        self.client = client
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield self._orders()
        up = GaugeMetricFamily("shop_redis_up", "Whether the web process reached Redis at this scrape")
        try:
            families = list(self._streams_and_services())
        except TRANSIENT_ERRORS:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _orders(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily("shop_orders", "Orders in the read model by state", labels=["status"])
        o = tables.orders
        with self.db.snapshot() as conn:
            rows = conn.execute(select(o.c.status, func.count()).group_by(o.c.status)).all()
        counts: dict[str, int] = {str(status): int(n) for status, n in rows}
        for status in ORDER_STATUSES:
            family.add_metric([status], counts.get(status, 0))
        return family

    def _streams_and_services(self) -> Iterator[GaugeMetricFamily]:
        length = GaugeMetricFamily("stream_length", "Entries on a stream", labels=["stream"])
        lag = GaugeMetricFamily(
            "consumer_group_lag", "Entries not yet delivered to a group", labels=["stream", "group"]
        )
        pending = GaugeMetricFamily(
            "consumer_group_pending", "Entries delivered to a group, not yet acked", labels=["stream", "group"]
        )
        oldest = GaugeMetricFamily(
            "consumer_group_oldest_pending_seconds", "Age of a group's oldest pending entry", labels=["stream", "group"]
        )
        for stream in stream_figures(self.client, STREAMS):
            length.add_metric([stream.name], stream.length)
            for group in stream.groups:
                if group.lag is not None:
                    lag.add_metric([stream.name, group.name], group.lag)
                pending.add_metric([stream.name, group.name], group.pending)
                oldest.add_metric([stream.name, group.name], (group.oldest_pending_ms or 0) / 1000)
        backlog = GaugeMetricFamily(
            "service_outbox_backlog", "A service's unsent outbox rows, from its heartbeat", labels=["service"]
        )
        age = GaugeMetricFamily(
            "service_heartbeat_age_seconds", "Seconds since a service's newest heartbeat", labels=["service"]
        )
        for service in service_figures(self.client, SERVICES):
            if service.outbox_backlog is not None:
                backlog.add_metric([service.name], service.outbox_backlog)
            if service.heartbeat_age_s is not None:
                age.add_metric([service.name], service.heartbeat_age_s)
        yield from (length, lag, pending, oldest, backlog, age)


def _exposition(request: Request) -> bytes:
    registry: CollectorRegistry | None = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(SystemCollector(ops_redis(request), gateway(request).db))
        request.app.state.metrics_registry = registry
    return generate_latest(REGISTRY) + generate_latest(registry)


@public
async def metrics(request: Request) -> Response:
    body = await run_in_threadpool(_exposition, request)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def routes() -> list[BaseRoute]:
    """This module's routes, built when the app is (after ``app.http.paths.register_convertors``)."""
    return [Route("/metrics", metrics, methods=["GET"])]
