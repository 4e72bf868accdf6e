"""The pages' live sockets: ``/live/shop``, ``/live/orders/{id}`` and the warehouse's ``/live/console``.

They send HTML fragments that htmx swaps by element id, made from the same partials the
pages are rendered with; a cursor that fell off a trimmed stream gets the figures from
the read model instead, swapped in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from app.auth.access import clerks_only_socket, public
from app.gateway import Gateway, gateway
from app.live.feed import Feed, serve, shared
from app.live.hub import Change
from app.live.resync import Reload, Reloader
from app.live.sockets import POLICY_VIOLATION, cursor, follow, for_order, is_catalog, is_stock, refuse_foreign
from app.read_model import queries
from app.shop.order_placement import order_for_owner, order_for_owner_at
from app.shop.templates import fragment, money, timeline


def _figures(change: Change) -> dict[str, Any]:
    data = change.data
    return {"id": data.get("product_id"), "on_hand": data.get("on_hand", 0), "available": data.get("available", 0)}


def _cursor_html(change: Change) -> str:
    return fragment("partials/cursor.html", stream=change.stream, after=change.entry_id, oob=True)


def _catalog_html(change: Change) -> str:
    """A new product's card, or a changed product's name, description, price and sale marker."""
    data = change.data
    product = {
        "id": data.get("product_id"),
        "sku": data.get("sku"),
        "name": data.get("name"),
        "description": data.get("description", ""),
        "price_cents": data.get("price_cents", 0),
        "archived": bool(data.get("archived", False)),
        # A new product's shelf holds its opening stock; the stock stream moves it from there.
        "on_hand": data.get("opening_stock", 0),
        "available": data.get("opening_stock", 0),
    }
    if change.type == "product.created":
        return f'<ul hx-swap-oob="beforeend:#products">{fragment("partials/product_card.html", p=product)}</ul>'
    return _product_swaps(product)


def _product_swaps(product: dict[str, Any]) -> str:
    """A shown product's name, description, price and sale marker, swapped by id."""
    pid = product["id"]
    return "".join(
        (
            fragment("partials/product_sale.html", p=product, oob=True),
            f'<h2 id="name-{pid}" hx-swap-oob="true">{escape(str(product["name"]))}</h2>',
            f'<p class="desc" id="desc-{pid}" hx-swap-oob="true">{escape(str(product["description"]))}</p>',
            f'<p class="price" id="price-{pid}" hx-swap-oob="true">{money(int(product["price_cents"]))}</p>',
        )
    )


def _shop_html(changes: Sequence[Change]) -> list[str]:
    if not changes:
        return []
    parts = [
        _catalog_html(c) if is_catalog(c) else fragment("partials/stock_figures.html", p=_figures(c), oob=True)
        for c in changes
    ]
    # Each stream's cursor moves to its last change here, so a reconnect asks for what came after.
    last = {c.stream: c for c in changes}
    return ["".join(parts) + "".join(_cursor_html(c) for c in last.values())]


shop_html = shared(_shop_html)


def _shop_resync(gw: Gateway) -> Reloader:
    """Every product's figures as the read model has them, and the position they reflect.

    Only the figures are swapped (by id, out of band): the cart, the forms and what the
    shopper typed stay as they are.
    """

    async def reload() -> Reload:
        def load() -> tuple[list[dict[str, Any]], str, str]:
            with gw.db.snapshot() as conn:
                products = queries.products(conn, archived=True)
                return products, queries.position(conn, "stock"), queries.position(conn, "catalog")

        products, position, catalog_position = await run_in_threadpool(load)
        parts = [fragment("partials/stock_figures.html", p=p, oob=True) for p in products]
        # Prices, names and sale markers too (a product created meanwhile shows after a reload).
        parts += [_product_swaps(p) for p in products]
        parts.append(fragment("partials/cursor.html", stream="stock", after=position, oob=True))
        parts.append(fragment("partials/cursor.html", stream="catalog", after=catalog_position, oob=True))
        return Reload(["".join(parts)], {"stock": position, "catalog": catalog_position})

    return reload


def _shop_key(change: Change) -> Any:
    # Per stream and product: a price change must not be coalesced away by a stock change.
    return change.stream, change.data.get("product_id")


@public
async def shop_socket(websocket: WebSocket) -> None:
    """The storefront's live figures and catalog (``stock=``/``after=`` and ``catalog=`` cursors)."""
    # The catalog first: a replayed new product's card must exist before its stock changes land on it.
    cursors = {
        "catalog": cursor(websocket, "catalog"),
        "stock": cursor(websocket, "stock") or cursor(websocket, "after"),
    }
    await follow(
        websocket,
        lambda gw: Feed(cursors, shop_html, lambda c: is_stock(c) or is_catalog(c), _shop_key, _shop_resync(gw)),
    )


async def _owned_order(websocket: WebSocket) -> dict[str, Any] | None:
    gw = gateway(websocket)
    order_id, token = websocket.path_params["order_id"], websocket.query_params.get("token")
    return await run_in_threadpool(order_for_owner, gw.outbox, order_id, token)


def _order_html(changes: Sequence[Change]) -> list[str]:
    if not changes:
        return []
    latest = changes[-1]
    return [fragment("partials/order_timeline.html", **timeline(latest.data), oob=True) + _cursor_html(latest)]


order_html = shared(_order_html)


def _order_page_resync(gw: Gateway, order_id: str, token: str | None) -> Reloader:
    """The order's timeline as the read model has it, and the position it reflects."""

    async def reload() -> Reload:
        order, position = await run_in_threadpool(order_for_owner_at, gw.outbox, order_id, token)
        html = fragment("partials/order_timeline.html", **timeline(order), oob=True) if order is not None else ""
        html += fragment("partials/cursor.html", stream="orders", after=position, oob=True)
        return Reload([html], {"orders": position})

    return reload


@public
async def order_page_socket(websocket: WebSocket) -> None:
    if await refuse_foreign(websocket):
        return
    order = await _owned_order(websocket)
    if order is None:
        await websocket.close(code=POLICY_VIOLATION)
        return
    await websocket.accept()
    gw = gateway(websocket)
    feed = Feed(
        {"orders": cursor(websocket, "after")},
        order_html,
        for_order(order["order_id"]),
        reload=_order_page_resync(gw, order["order_id"], websocket.query_params.get("token")),
    )
    await serve(websocket, gw.hub, gw.redis, feed)


def _console_html(changes: Sequence[Change]) -> list[str]:
    parts: list[str] = []
    for change in changes:
        if change.type == "stock.changed":
            data = change.data
            product = {
                "id": data.get("product_id"),
                "name": data.get("name") or data.get("sku"),
                "sku": data.get("sku"),
                "on_hand": data.get("on_hand", 0),
                "reserved": data.get("reserved", 0),
                "available": data.get("available", 0),
            }
            parts.append(_stock_row(product))
        elif change.type.startswith("order."):
            parts.append(_order_rows(change.data))
        parts.append(_cursor_html(change))
    return ["".join(parts)] if parts else []


def _stock_row(product: dict[str, Any]) -> str:
    # Only the figures change live; the row keeps its name and restock form.
    pid = product["id"]
    return "".join(
        f'<span class="num" id="row-{name}-{pid}" hx-swap-oob="true">{int(product[key])}</span>'
        for name, key in (("on-hand", "on_hand"), ("reserved", "reserved"), ("available", "available"))
    )


def _order_rows(order: dict[str, Any]) -> str:
    order_id = order.get("order_id")
    status = order.get("status")
    # Delete first, then insert: a replayed change never shows an order twice.
    html = f'<li id="ready-{order_id}" hx-swap-oob="delete"></li><li id="recent-{order_id}" hx-swap-oob="delete"></li>'
    # Pushed rows are shared by every console, so they carry no per-browser token: their
    # htmx posts send it from the page's hx-headers.
    context = {"o": {**order, "dispatch_requested": False}, "csrf_token": ""}
    if status == "confirmed":
        html += f'<ul hx-swap-oob="beforeend:#ready-orders">{fragment("partials/ready_order.html", **context)}</ul>'
    elif status in ("dispatched", "shipped"):  # as the page renders it: delivered orders leave the list
        html += f'<ul hx-swap-oob="afterbegin:#recent-orders">{fragment("partials/recent_order.html", **context)}</ul>'
    return html


console_html = shared(_console_html)


def _console_resync(gw: Gateway) -> Reloader:
    """The console's live parts as the warehouse page renders them, from one snapshot of both streams.

    Its stock figures, and its two order lists whole: an order trimmed away from the
    replay may have been confirmed, dispatched or delivered since.
    """

    async def reload() -> Reload:
        def load() -> dict[str, Any]:
            with gw.db.snapshot() as conn:
                return {
                    "products": queries.products(conn),
                    "ready": queries.orders_with_status(conn, "confirmed"),
                    "recent": [
                        *queries.orders_with_status(conn, "dispatched", 20),
                        *queries.orders_with_status(conn, "shipped", 20),
                    ],
                    "stock": queries.position(conn, "stock"),
                    "orders": queries.position(conn, "orders"),
                }

        now = await run_in_threadpool(load)
        parts = [_stock_row(p) for p in now["products"]]
        for list_id, partial, orders in (
            ("ready-orders", "partials/ready_order.html", now["ready"]),
            ("recent-orders", "partials/recent_order.html", now["recent"]),
        ):
            rows = "".join(fragment(partial, o={"dispatch_requested": False, **o}, csrf_token="") for o in orders)
            parts.append(f'<ul class="orders" id="{list_id}" hx-swap-oob="true">{rows}</ul>')
        positions = {"stock": now["stock"], "orders": now["orders"]}
        parts += [fragment("partials/cursor.html", stream=s, after=at, oob=True) for s, at in positions.items()]
        return Reload(["".join(parts)], positions)

    return reload


@clerks_only_socket
async def console_socket(websocket: WebSocket) -> None:
    """The warehouse console's live stock figures and order lists (``stock=`` and ``orders=`` cursors)."""
    cursors = {"stock": cursor(websocket, "stock"), "orders": cursor(websocket, "orders")}
    await follow(
        websocket,
        lambda gw: Feed(
            cursors,
            console_html,
            lambda c: c.type == "stock.changed" or c.type.startswith("order."),
            reload=_console_resync(gw),
        ),
    )


def routes() -> list[BaseRoute]:
    """This module's routes, built when the app is (after ``app.http.paths.register_convertors``)."""
    return [
        WebSocketRoute("/live/shop", shop_socket),
        WebSocketRoute("/live/console", console_socket),
        WebSocketRoute("/live/orders/{order_id}", order_page_socket),
    ]
