"""The HTML pages: shop, cart and checkout, order tracking, clerk login and the warehouse console.

Links and forms work without JavaScript; htmx makes them partial swaps, and the
same partials are what the live sockets push.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from app.auth import accounts, csrf
from app.auth.access import clerks_only, managers_only, public
from app.auth.callers import SESSION_COOKIE, log_in, session_policy
from app.gateway import gateway, in_snapshot
from app.http import client_id, paths
from app.http.cookies import delete_cookie, set_cookie
from app.http.errors import ApiError, InvalidInput
from app.http.limits import limits
from app.read_model import queries
from app.shop import cart
from app.shop.catalog_requests import euros_to_cents, parse_changes, parse_new_product, request_change, request_product
from app.shop.checkout_validation import PAYMENT_METHODS
from app.shop.order_placement import order_for_owner_at, place_order, request_cancel
from app.shop.order_search import find_orders, parse_search
from app.shop.templates import TEMPLATES, render, timeline
from app.shop.warehouse_requests import request_dispatch, request_restock
from workers.contracts.orders import ORDER_STATUSES
from workers.contracts.payments import PAYMENT_TOKENS
from workers.eventing.ids import uuid7

Page = Callable[[Request], Awaitable[Response]]

PAYMENT_LABELS = {t.token: t.label for t in PAYMENT_TOKENS}


def page(handler: Page) -> Page:
    """Load the clerk (if any) before a page handler and set the client cookie after it (if new)."""

    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        policy = session_policy(request)
        request.state.clerk = await run_in_threadpool(accounts.session_for, gateway(request).db, token, policy)
        response = await handler(request)
        client_id.remember(request, response)
        return response

    return wrapper


def whole(field: object) -> int | None:
    """A form field's whole number, or None. ``str.isdigit`` alone is not enough: "²" is a digit
    that ``int()`` refuses, and so are more than 4300 digits; either would be a 500."""
    text = str(field)
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


@public
@page
async def shop(request: Request) -> Response:
    def load(conn: Connection) -> dict[str, Any]:
        return {
            # Archived ones too, hidden: a product brought back shows again without a reload.
            "products": queries.products(conn, archived=True),
            "stream_id": queries.position(conn, "stock"),
            "catalog_stream_id": queries.position(conn, "catalog"),
        }

    context = await in_snapshot(request, load)
    return render(request, "shop.html", {**context, "flash": request.query_params.get("flash")})


@public
@page
async def add_to_cart(request: Request) -> Response:
    form = await csrf.checked_form(request)
    product_id, quantity = whole(form.get("product_id", "")), whole(form.get("quantity", "1"))
    if product_id is None or quantity is None or not 1 <= quantity <= cart.MAX_QUANTITY:
        raise ApiError(422, "Choose a product and a quantity from 1 to 99.")
    db = gateway(request).db

    def price_now() -> int | None:
        with db.snapshot() as conn:
            product = queries.catalog(conn).get(product_id)
        return product.price_cents if product is not None else None

    updated = cart.add(cart.read_cart(request), product_id, quantity)
    prices = cart.seen_prices(request)
    if product_id not in prices or prices[product_id] is None:
        prices[product_id] = await run_in_threadpool(price_now)
    if is_htmx(request):
        response: Response = TEMPLATES.TemplateResponse(
            request, "partials/cart_count.html", {"cart_count": sum(updated.values())}
        )
    else:
        response = RedirectResponse("/cart", status_code=303)
    cart.write_cart(request, response, updated, prices)
    return response


@public
@page
async def remove_from_cart(request: Request) -> Response:
    form = await csrf.checked_form(request)
    current = cart.read_cart(request)
    current.pop(whole(form.get("product_id", "")) or 0, None)
    response = RedirectResponse("/cart", status_code=303)
    cart.write_cart(request, response, current, cart.seen_prices(request))
    return response


async def _cart_page(request: Request, form: dict[str, Any], errors: dict[str, str], status: int = 200) -> Response:
    def load(conn: Connection) -> dict[int, Any]:
        return queries.catalog(conn)

    catalog = await in_snapshot(request, load)
    seen = cart.seen_prices(request)
    lines = [
        {
            "product_id": pid,
            "name": catalog[pid].name,
            "quantity": qty,
            "unit_price_cents": catalog[pid].price_cents,
            "line_total_cents": catalog[pid].price_cents * qty,
            # The shopper put it in the cart at another price: say so before they pay the new one.
            "was_cents": seen.get(pid) if seen.get(pid) not in (None, catalog[pid].price_cents) else None,
            "archived": catalog[pid].archived,
        }
        for pid, qty in cart.read_cart(request).items()
        if pid in catalog
    ]
    context = {
        "lines": lines,
        "total_cents": sum(line["line_total_cents"] for line in lines),
        "form": form,
        "errors": errors,
        "idempotency_key": form.get("idempotency_key") or uuid7(),
        "payment_methods": [(m, PAYMENT_LABELS[m]) for m in PAYMENT_METHODS],
    }
    return render(request, "cart.html", context, status_code=status)


@public
@page
async def show_cart(request: Request) -> Response:
    return await _cart_page(request, {}, {})


@public
@page
async def checkout(request: Request) -> Response:
    form = await csrf.checked_form(request)
    await limits(request).check_checkout(request)
    fields = {k: str(form.get(k, "")) for k in ("name", "email", "address", "payment_method", "idempotency_key")}
    body = {
        "name": fields["name"],
        "email": fields["email"],
        "address": fields["address"],
        "payment_method": fields["payment_method"],
        "items": [{"product_id": pid, "quantity": qty} for pid, qty in cart.read_cart(request).items()],
    }
    try:
        key, scope = fields["idempotency_key"] or None, client_id.scope(request)
        gw = gateway(request)
        placed = await run_in_threadpool(place_order, gw.outbox, body, key, scope, gw.settings.max_units_per_product)
    except InvalidInput as exc:
        return await _cart_page(request, fields, exc.fields, status=422)
    response = RedirectResponse(placed["tracking_url"], status_code=303)
    cart.write_cart(request, response, {})
    return response


@public
@page
async def order_page(request: Request) -> Response:
    order_id, token = request.path_params["order_id"], request.query_params.get("token")
    gw = gateway(request)
    # One snapshot: the page's socket replays from exactly what the page shows.
    order, position = await run_in_threadpool(order_for_owner_at, gw.outbox, order_id, token)
    if order is None:
        return render(request, "error.html", {"message": "No such order (check the link in your email)."}, 404)
    context = {**timeline(order), "token": token, "stream_id": position, "flash": request.query_params.get("flash")}
    return render(request, "order.html", context)


@public
@page
async def cancel_order(request: Request) -> Response:
    """*Cancel order* on the order page; the page then shows the cancellation live."""
    form = await csrf.checked_form(request)
    order_id, token = request.path_params["order_id"], str(form.get("token", ""))
    try:
        await run_in_threadpool(request_cancel, gateway(request).outbox, order_id, token)
    except ApiError as refused:
        if refused.status != 409:
            raise
        if is_htmx(request):
            return HTMLResponse(f'<p class="flash" id="cancel-refused">{escape(refused.message)}</p>')
        return RedirectResponse(_order_url(order_id, token, refused.message), status_code=303)
    if is_htmx(request):
        return HTMLResponse('<p class="muted" id="cancel-pending">Cancelling…</p>')
    return RedirectResponse(_order_url(order_id, token, "Cancellation requested."), status_code=303)


def _order_url(order_id: str, token: str, flash: str) -> str:
    return f"/orders/{quote(order_id)}?{urlencode({'token': token, 'flash': flash})}"


def _safe_next(target: str | None) -> str:
    # Only our own paths: "//evil.example" or "https://..." would make this an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/warehouse"


@public
@page
async def login_form(request: Request) -> Response:
    return render(request, "login.html", {"next": _safe_next(request.query_params.get("next"))})


@public
@page
async def login(request: Request) -> Response:
    form = await csrf.checked_form(request)
    await limits(request).check_login(request)
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")))
    result = await log_in(request, username, password) if username else None
    if result is None:
        context = {"next": target, "username": username, "error": "Wrong username or password."}
        return render(request, "login.html", context, status_code=401)
    # The old session (if any) ends: a new id at every login.
    await run_in_threadpool(accounts.logout, gateway(request).db, request.cookies.get(SESSION_COOKIE))
    token, _session = result
    response = RedirectResponse(target, status_code=303)
    # The session's forms get new CSRF tokens: they are bound to the session.
    set_cookie(request, response, SESSION_COOKIE, token, max_age=int(session_policy(request).lifetime_s))
    return response


@public
@page
async def logout(request: Request) -> Response:
    await csrf.checked_form(request)
    await run_in_threadpool(accounts.logout, gateway(request).db, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/", status_code=303)
    delete_cookie(request, response, SESSION_COOKIE)
    return response


@page
@clerks_only
async def warehouse(request: Request) -> Response:
    def load(conn: Connection) -> dict[str, Any]:
        recent = [
            *queries.orders_with_status(conn, "dispatched", 20),
            *queries.orders_with_status(conn, "shipped", 20),
        ]
        return {
            "ready": queries.orders_with_status(conn, "confirmed"),
            "products": queries.products(conn),
            "recent": recent,
            "stock_id": queries.position(conn, "stock"),
            "orders_id": queries.position(conn, "orders"),
        }

    return render(
        request, "warehouse.html", {**await in_snapshot(request, load), "flash": request.query_params.get("flash")}
    )


@page
@clerks_only
async def find_orders_page(request: Request) -> Response:
    """The console's order search: by id prefix or email, status and day, a page at a time."""
    params = dict(request.query_params)
    params.setdefault("status", "")  # the page looks through every status unless told
    form = {key: params.get(key, "") for key in ("q", "status", "from", "to")}
    try:
        search = parse_search(params)
    except InvalidInput as exc:
        context: dict[str, Any] = {"orders": [], "next_url": None, "errors": exc.fields}
        return render(request, "orders_search.html", {**context, "form": form, "statuses": ORDER_STATUSES}, 422)

    def load(conn: Connection) -> dict[str, Any]:
        return find_orders(conn, search)

    found = await in_snapshot(request, load)
    cursor = found["next_cursor"]
    next_url = f"/warehouse/orders?{urlencode({**form, 'cursor': cursor})}" if cursor else None
    page_context: dict[str, Any] = {"orders": found["orders"], "next_url": next_url, "errors": {}, "form": form}
    return render(request, "orders_search.html", {**page_context, "statuses": ORDER_STATUSES})


async def _catalog_page(request: Request, form: dict[str, str], errors: dict[str, str], status: int = 200) -> Response:
    def load(conn: Connection) -> dict[str, Any]:
        return {
            "products": queries.products(conn, archived=True),
            "requests": queries.catalog_requests(conn),
        }

    context = {**await in_snapshot(request, load), "form": form, "errors": errors}
    return render(request, "manage_products.html", {**context, "flash": request.query_params.get("flash")}, status)


@page
@managers_only
async def manage_products(request: Request) -> Response:
    """The manager's catalog: create products, change them, archive them and bring them back."""
    return await _catalog_page(request, {}, {})


@page
@managers_only
async def create_product(request: Request) -> Response:
    form = await csrf.checked_form(request)
    fields = {k: str(form.get(k, "")) for k in ("sku", "name", "description", "price", "opening_stock")}
    stock = whole(fields["opening_stock"] or "0")
    body = {
        "sku": fields["sku"],
        "name": fields["name"],
        "description": fields["description"],
        "price_cents": euros_to_cents(fields["price"]),
        "opening_stock": stock if stock is not None else fields["opening_stock"],
    }
    manager = request.state.clerk.username
    try:
        product = parse_new_product(body)
        product_id = await run_in_threadpool(request_product, gateway(request).outbox, product, manager)
    except InvalidInput as exc:
        return await _catalog_page(request, fields, exc.fields, status=422)
    flash = f"Product {product_id} ({product.sku}) requested; it appears once the catalog has created it."
    return RedirectResponse(f"/manage/products?{urlencode({'flash': flash})}", status_code=303)


@page
@managers_only
async def change_product(request: Request) -> Response:
    form = await csrf.checked_form(request)
    body: dict[str, Any] = {}
    for name in ("name", "description"):
        if name in form:
            body[name] = str(form[name])
    if "price" in form:
        body["price_cents"] = euros_to_cents(str(form["price"]))
    if "archived" in form:
        body["archived"] = {"true": True, "false": False}.get(str(form["archived"]), str(form["archived"]))
    product_id = request.path_params["product_id"]
    manager = request.state.clerk.username
    try:
        changes = parse_changes(body)
        await run_in_threadpool(request_change, gateway(request).outbox, product_id, changes, manager)
    except InvalidInput as exc:
        return await _catalog_page(request, {}, exc.fields, status=422)
    flash = f"Change of product {product_id} requested."
    return RedirectResponse(f"/manage/products?{urlencode({'flash': flash})}", status_code=303)


@page
@clerks_only
async def dispatch(request: Request) -> Response:
    clerk: accounts.Session = request.state.clerk
    await csrf.checked_form(request)
    order_id = request.path_params["order_id"]
    await run_in_threadpool(request_dispatch, gateway(request).outbox, order_id, clerk.username)
    if is_htmx(request):
        return HTMLResponse('<span class="muted">Dispatching…</span>')
    return RedirectResponse("/warehouse?flash=Dispatch+requested", status_code=303)


@page
@clerks_only
async def restock(request: Request) -> Response:
    clerk: accounts.Session = request.state.clerk
    form = await csrf.checked_form(request)
    raw = str(form.get("quantity", ""))
    quantity: object = raw if whole(raw) is None else whole(raw)
    await run_in_threadpool(
        request_restock, gateway(request).outbox, request.path_params["product_id"], quantity, clerk.username
    )
    if is_htmx(request):
        return Response(status_code=204)
    return RedirectResponse("/warehouse?flash=Restock+requested", status_code=303)


def routes() -> list[BaseRoute]:
    """This module's routes, built when the app is (after ``app.http.paths.register_convertors``)."""
    return [
        Route("/", shop, methods=["GET"]),
        Route("/cart", show_cart, methods=["GET"]),
        Route("/cart/add", add_to_cart, methods=["POST"]),
        Route("/cart/remove", remove_from_cart, methods=["POST"]),
        Route("/checkout", checkout, methods=["POST"]),
        Route("/orders/{order_id}", order_page, methods=["GET"]),
        Route("/orders/{order_id}/cancel", cancel_order, methods=["POST"]),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/warehouse", warehouse, methods=["GET"]),
        Route("/manage/products", manage_products, methods=["GET"]),
        Route("/manage/products", create_product, methods=["POST"]),
        Route(f"/manage/products/{paths.PRODUCT_ID}", change_product, methods=["POST"]),
        Route("/warehouse/orders", find_orders_page, methods=["GET"]),
        Route("/warehouse/orders/{order_id}/dispatch", dispatch, methods=["POST"]),
        Route(f"/warehouse/products/{paths.PRODUCT_ID}/restock", restock, methods=["POST"]),
    ]
