"""``GET /healthz``: 200 when this web process reaches Redis and its database, else 503."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.access import public
from app.state import gateway


@public
async def healthz(request: Request) -> Response:
    gw = gateway(request)
    checks = {"redis": "ok", "database": "ok"}
    try:
        await asyncio.wait_for(gw.redis.ping(), timeout=1.0)
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        checks["redis"] = f"unreachable: {type(exc).__name__}"

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
    body = {"status": "ok" if healthy else "unavailable", **checks, "outbox_backlog": backlog}
    return JSONResponse(body, status_code=200 if healthy else 503)


ROUTES = [Route("/healthz", healthz, methods=["GET"])]
