"""``/ops`` (managers only): the console page, its Retry/Discard forms and its live socket.

The socket ``/live/ops`` re-reads the figures every ``OPS_REFRESH_S`` and pushes the
console partial, swapped out of band by its id, whenever it changed: the same
partial the page is rendered with and a retry or discard answers with.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from functools import partial
from typing import Any

import redis
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from app.auth import csrf
from app.auth.access import managers_only, managers_only_socket
from app.gateway import gateway
from app.live.feed import listen
from app.live.sockets import refuse_foreign
from app.ops import actions, figures
from app.ops.actions import Action
from app.ops.client import ops_redis
from app.shop.pages import is_htmx, page
from app.shop.templates import fragment, render
from workers.eventing import Database
from workers.eventing.redis_client import TRANSIENT_ERRORS

log = logging.getLogger(__name__)

TRY_AGAIN_LATER = 1013


def when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def console(client: redis.Redis, db: Database) -> dict[str, Any]:
    """What the console partial shows: the status, the dead letters and the latest audited actions."""
    return {
        "status": figures.status(client),
        "letters": figures.dead_letters(client),
        "audit": actions.recent(db),
        "when": when,
    }


@page
@managers_only
async def ops_page(request: Request) -> Response:
    context = await run_in_threadpool(console, ops_redis(request), gateway(request).db)
    return render(request, "ops.html", {**context, "oob": False, "flash": request.query_params.get("flash")})


async def _act(request: Request, action: Action) -> Response:
    await csrf.checked_form(request)
    gw = gateway(request)
    client, db = ops_redis(request), gw.db
    done = await run_in_threadpool(
        partial(actions.act, redrive_s=gw.settings.dlq_redrive_s),
        client,
        db,
        request.path_params["dlq_id"],
        action,
        request.state.clerk.username,
    )
    if not is_htmx(request):
        verb = "Retried" if action == "retry" else "Discarded"
        return RedirectResponse(f"/ops?flash={verb}+dead+letter+{done.id}", status_code=303)
    context = await run_in_threadpool(console, client, db)
    html = fragment("partials/ops_console.html", **context, oob=False, csrf_token=csrf.csrf_token(request))
    return HTMLResponse(html)


@page
@managers_only
async def retry(request: Request) -> Response:
    return await _act(request, "retry")


@page
@managers_only
async def discard(request: Request) -> Response:
    return await _act(request, "discard")


@managers_only_socket
async def ops_socket(websocket: WebSocket) -> None:
    """Push the console whenever its figures change, until the browser leaves."""
    if await refuse_foreign(websocket):
        return
    await websocket.accept()
    gw = gateway(websocket)
    client, interval = ops_redis(websocket), gw.settings.ops_refresh_s
    # The forms in a pushed console post this browser's own CSRF token, as the page's do.
    token = csrf.connection_token(websocket)
    # The live feeds' listener: ignores what the client sends, closes on oversized messages or a flood.
    closed = asyncio.create_task(listen(websocket))
    last = ""
    try:
        while not closed.done():
            context = await run_in_threadpool(console, client, gw.db)
            html = fragment("partials/ops_console.html", **context, oob=True, csrf_token=token)
            if html != last:
                await websocket.send_text(html)
                last = html
            await asyncio.wait({closed}, timeout=interval)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the browser left
    except TRANSIENT_ERRORS as exc:
        log.warning("ops socket: Redis away (%r); the browser reconnects", exc)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=TRY_AGAIN_LATER)
    finally:
        closed.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await closed


def routes() -> list[BaseRoute]:
    """This module's routes, built when the app is (after ``app.http.paths.register_convertors``)."""
    return [
        Route("/ops", ops_page, methods=["GET"]),
        Route("/ops/dead-letters/{dlq_id}/retry", retry, methods=["POST"]),
        Route("/ops/dead-letters/{dlq_id}/discard", discard, methods=["POST"]),
        WebSocketRoute("/live/ops", ops_socket),
    ]
