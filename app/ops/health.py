"""``GET /healthz``: 200 when this web process reaches Redis and its database, else 503.

Also 503 when one of this process's live readers has ended: its pages would hear of
that stream no more.

Also 503 when the projector (consumer group ``gateway``, its own process) lags more
than ``HEALTH_MAX_PROJECTOR_LAG`` entries behind the streams it reads: pages would
show a stale read model.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.auth.access import public
from app.gateway import Gateway, gateway
from app.live.hub import Hub
from app.projector.bootstrap import SERVICE, STREAMS


async def projector_lag(gw: Gateway) -> int:
    """Entries of the projected streams the ``gateway`` group has not handled yet: one round trip.

    A stream without the group yet (the projector never ran) counts all its entries;
    Redis 7.0 gives no ``lag`` when it cannot count it, and then only pending counts.
    """
    pipe = gw.redis.pipeline(transaction=False)
    for stream in STREAMS:
        pipe.xinfo_groups(stream)
        pipe.xlen(stream)
    replies = await pipe.execute(raise_on_error=False)
    behind = 0
    for groups, length in zip(replies[::2], replies[1::2], strict=True):
        if isinstance(groups, Exception):  # no such stream yet: nothing to be behind on
            continue
        ours = [g for g in groups if _text(g["name"]) == SERVICE]
        if not ours:
            behind += int(length)
            continue
        lag: Any = ours[0].get("lag")
        behind += int(ours[0]["pending"]) + (int(lag) if lag is not None else 0)
    return behind


async def projector_check(gw: Gateway) -> tuple[str, int | None]:
    """``"ok"`` and the lag, or what is wrong with the projector."""
    try:
        lag = await asyncio.wait_for(projector_lag(gw), timeout=1.0)
    except Exception as exc:  # noqa: BLE001 - Redis went away between the two checks
        return f"unknown: {type(exc).__name__}", None
    bound = gw.settings.max_projector_lag
    return ("ok" if lag <= bound else f"lagging: {lag} entries behind (at most {bound})"), lag


@public
async def healthz(request: Request) -> Response:
    gw = gateway(request)
    checks = {"redis": "ok", "database": "ok", "live_readers": _live_readers(gw.hub)}
    try:
        await asyncio.wait_for(gw.redis.ping(), timeout=1.0)
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        checks["redis"] = f"unreachable: {type(exc).__name__}"
    checks["projector"], lag = await projector_check(gw) if checks["redis"] == "ok" else ("unknown", None)

    def database() -> int:
        with gw.db.snapshot() as conn:
            conn.execute(text("SELECT 1"))
        return gw.outbox.backlog()

    backlog = None
    try:
        backlog = await run_in_threadpool(database)
    except Exception as exc:  # noqa: BLE001
        checks["database"] = f"unreachable: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if healthy else "unavailable", **checks, "outbox_backlog": backlog, "projector_lag": lag}
    return JSONResponse(body, status_code=200 if healthy else 503)


def _live_readers(hub: Hub) -> str:
    return "ok" if hub.readers_alive() else "stopped: " + ", ".join(hub.dead_readers())


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def routes() -> list[BaseRoute]:
    """This module's routes, built when the app is (after ``app.http.paths.register_convertors``)."""
    return [Route("/healthz", healthz, methods=["GET"])]
