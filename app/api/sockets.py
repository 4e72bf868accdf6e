"""The contract's JSON sockets: ``/ws/stock``, ``/ws/catalog`` and ``/ws/orders/{id}``.

Each replays what came after its ``after`` cursor, then goes live; a cursor that fell off
a trimmed stream gets ``{"type": "resync", "stream_id"}`` instead of the replay.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from app.auth.access import public
from app.gateway import Gateway, gateway
from app.live.feed import Feed, serve, shared
from app.live.hub import Change
from app.live.resync import Reload, Reloader
from app.live.sockets import POLICY_VIOLATION, cursor, follow, for_order, is_catalog, is_stock, refuse_foreign
from app.read_model import queries
from app.shop.order_placement import order_for_owner_at
from workers.contracts.orders import EVENT_FOR_STATUS


def stock_json(change: Change) -> str:
    data = change.data
    return json.dumps(
        {
            "type": "stock.changed",
            "product_id": data.get("product_id"),
            "available": data.get("available"),
            "on_hand": data.get("on_hand"),
            "delta": data.get("delta"),
            "cause": data.get("cause"),
            "stream_id": change.entry_id,
            "event_id": change.event.get("id"),
        }
    )


def catalog_json(change: Change) -> str:
    data = change.data
    return json.dumps(
        {
            "type": change.type,
            "product_id": data.get("product_id"),
            "name": data.get("name"),
            "price_cents": data.get("price_cents"),
            "archived": bool(data.get("archived", False)),
            "stream_id": change.entry_id,
            "event_id": change.event.get("id"),
        }
    )


def order_json(change: Change) -> str:
    return json.dumps(
        {
            "type": change.type,
            "order_id": change.data.get("order_id"),
            "status": change.data.get("status"),
            "stream_id": change.entry_id,
            "event_id": change.event.get("id"),
        }
    )


stock_messages = shared(lambda changes: [stock_json(c) for c in changes])


catalog_messages = shared(lambda changes: [catalog_json(c) for c in changes])


order_messages = shared(lambda changes: [order_json(c) for c in changes])


def _json_resync(gw: Gateway, stream: str) -> Reloader:
    """The contract's ``{"type": "resync", "stream_id"}``: reload from the API, go on from ``stream_id``."""

    async def reload() -> Reload:
        def load() -> str:
            with gw.db.snapshot() as conn:
                return queries.position(conn, stream)

        position = await run_in_threadpool(load)
        return Reload([json.dumps({"type": "resync", "stream_id": position})], {stream: position})

    return reload


def _stream_feed(
    websocket: WebSocket,
    stream: str,
    render: Callable[[Sequence[Change]], Sequence[str]],
    accepts: Callable[[Change], bool],
) -> Callable[[Gateway], Feed]:
    """One stream's changes as JSON, after the socket's ``after`` cursor, with the contract's resync."""
    after = cursor(websocket, "after")
    return lambda gw: Feed({stream: after}, render, accepts, reload=_json_resync(gw, stream))


@public
async def stock_socket(websocket: WebSocket) -> None:
    """``/ws/stock?after=<stream_id>``: every stock change as JSON, replayed after ``after``."""
    await follow(websocket, _stream_feed(websocket, "stock", stock_messages, is_stock))


@public
async def catalog_socket(websocket: WebSocket) -> None:
    """``/ws/catalog?after=<stream_id>``: products created and changed, as JSON, replayed after ``after``."""
    await follow(websocket, _stream_feed(websocket, "catalog", catalog_messages, is_catalog))


@public
async def order_socket(websocket: WebSocket) -> None:
    """``/ws/orders/{id}?token=``: the order's status changes as JSON.

    Without ``after`` the first message is the current status (from the read model,
    with the position it reflects), then whatever came after that position.
    """
    if await refuse_foreign(websocket):
        return
    gw = gateway(websocket)
    order_id, token = websocket.path_params["order_id"], websocket.query_params.get("token")
    # The order and the position it reflects in one snapshot, so the replay starts where it ends.
    order, position = await run_in_threadpool(order_for_owner_at, gw.outbox, order_id, token)
    if order is None:
        await websocket.close(code=POLICY_VIOLATION)  # same answer for "no such order" and "wrong token"
        return
    await websocket.accept()
    after = cursor(websocket, "after")
    first: list[str] = []
    if after is None:
        after = position
        event_type = EVENT_FOR_STATUS[order["status"]].TYPE
        current = {"type": event_type, "order_id": order["order_id"], "status": order["status"]}
        first.append(json.dumps({**current, "stream_id": after}))
    feed = Feed({"orders": after}, order_messages, for_order(order["order_id"]), reload=_json_resync(gw, "orders"))
    await serve(websocket, gw.hub, gw.redis, feed, first)


def routes() -> list[BaseRoute]:
    """This module's routes, built when the app is (after ``app.http.paths.register_convertors``)."""
    return [
        WebSocketRoute("/ws/stock", stock_socket),
        WebSocketRoute("/ws/catalog", catalog_socket),
        WebSocketRoute("/ws/orders/{order_id}", order_socket),
    ]
