"""``/api/ops/*`` (managers only): the ops console's figures and dead-letter actions as JSON."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.auth.access import managers_only
from app.gateway import gateway
from app.http.errors import ApiError
from app.ops import actions, figures
from app.ops.actions import Action
from app.ops.client import ops_redis
from workers.eventing.redis_client import TRANSIENT_ERRORS

T = TypeVar("T")


async def _with_redis(call: Callable[..., T], *args: object) -> T:
    """Run a Redis-reading call in the thread pool; Redis away is a 503 the client can retry, not a 500."""
    try:
        return await run_in_threadpool(call, *args)
    except TRANSIENT_ERRORS:
        raise ApiError(503, "Redis is not reachable right now; try again shortly.") from None


@managers_only
async def status(request: Request) -> Response:
    answer = await _with_redis(figures.status, ops_redis(request))
    return JSONResponse(answer.model_dump(mode="json"))


@managers_only
async def dead_letters(request: Request) -> Response:
    answer = await _with_redis(figures.dead_letters, ops_redis(request))
    return JSONResponse(answer.model_dump(mode="json"))


async def _act(request: Request, action: Action) -> Response:
    gw = gateway(request)
    answer = await _with_redis(
        partial(actions.act, redrive_s=gw.settings.dlq_redrive_s),
        ops_redis(request),
        gw.db,
        request.path_params["dlq_id"],
        action,
        request.state.clerk.username,
    )
    return JSONResponse(answer.model_dump(mode="json"), status_code=202)


@managers_only
async def retry(request: Request) -> Response:
    return await _act(request, "retry")


@managers_only
async def discard(request: Request) -> Response:
    return await _act(request, "discard")


def routes() -> list[BaseRoute]:
    """This module's routes, built when the app is (after ``app.http.paths.register_convertors``)."""
    return [
        Route("/ops/status", status, methods=["GET"]),
        Route("/ops/dead-letters", dead_letters, methods=["GET"]),
        Route("/ops/dead-letters/{dlq_id}/retry", retry, methods=["POST"]),
        Route("/ops/dead-letters/{dlq_id}/discard", discard, methods=["POST"]),
    ]
