"""What every socket endpoint shares: its handshake guard, its cursors and which changes it follows.

The endpoints themselves are routes: the JSON ones of the contract in ``app.api.sockets``,
the pages' HTML ones in ``app.shop.live_pages``, the ops console's in ``app.ops.page``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket

from app.gateway import Gateway, gateway
from app.http.site import site
from app.live.feed import Feed, serve
from app.live.hub import Change
from app.read_model.stream_ids import is_stream_id

POLICY_VIOLATION = 1008
CATALOG_TYPES = ("product.created", "product.updated")


def cursor(websocket: WebSocket, name: str) -> str | None:
    """The stream position a socket asks to go on from (``?name=<stream id>``), if it is one."""
    value = websocket.query_params.get(name)
    return value if value and is_stream_id(value) else None


async def refuse_foreign(websocket: WebSocket) -> bool:
    """Refuse the handshake when a page of another site opens the socket."""
    if site(websocket).from_elsewhere(websocket):
        await websocket.close(code=POLICY_VIOLATION)
        return True
    return False


def is_stock(change: Change) -> bool:
    return change.type == "stock.changed"


def is_catalog(change: Change) -> bool:
    return change.type in CATALOG_TYPES


def for_order(order_id: str) -> Any:
    """Whether a change is about this order."""
    return lambda change: change.type.startswith("order.") and change.data.get("order_id") == order_id


async def follow(websocket: WebSocket, feed_for: Callable[[Gateway], Feed]) -> None:
    """Serve a socket that follows a feed: refuse another site's page, accept, replay, then go live."""
    if await refuse_foreign(websocket):
        return
    await websocket.accept()
    gw = gateway(websocket)
    await serve(websocket, gw.hub, gw.redis, feed_for(gw))
