"""The JSON API of the contract (DESIGN.md): products, checkout, order status, clerks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.auth import accounts
from app.auth.access import clerks_only, managers_only, public
from app.auth.callers import bearer_token, log_in
from app.gateway import gateway, in_snapshot
from app.http import client_id, paths
from app.http.bodies import read_json
from app.http.errors import ApiError, InvalidInput
from app.http.limits import limits
from app.read_model import queries
from app.shop.catalog_requests import parse_changes, parse_new_product, request_change, request_product
from app.shop.order_placement import order_for_owner, place_order, request_cancel
from app.shop.order_search import find_orders, parse_search
from app.shop.warehouse_requests import request_dispatch, request_restock


@public
async def list_products(request: Request) -> Response:
    def load(conn: Connection) -> dict[str, object]:
        return {
            "products": queries.products(conn),
            "stream_id": queries.position(conn, "stock"),
            "catalog_stream_id": queries.position(conn, "catalog"),
        }

    return JSONResponse(await in_snapshot(request, load))


@managers_only
async def catalog_products(request: Request) -> Response:
    """The manager's view: every product (archived ones too) and the new-product requests not created."""

    def load(conn: Connection) -> dict[str, object]:
        return {
            "products": queries.products(conn, archived=True),
            "requests": queries.catalog_requests(conn),
            "catalog_stream_id": queries.position(conn, "catalog"),
        }

    return JSONResponse(await in_snapshot(request, load))


@managers_only
async def create_product(request: Request) -> Response:
    """A new product: 202 with the id it will have; the catalog confirms (or refuses) it on its stream."""
    product = parse_new_product(await read_json(request))
    manager = request.state.clerk.username
    product_id = await run_in_threadpool(request_product, gateway(request).outbox, product, manager)
    return JSONResponse({"product_id": product_id}, status_code=202)


@managers_only
async def change_product(request: Request) -> Response:
    """Change a product's name, description, price, or archive it and bring it back."""
    changes = parse_changes(await read_json(request))
    product_id = request.path_params["product_id"]
    manager = request.state.clerk.username
    request_id = await run_in_threadpool(request_change, gateway(request).outbox, product_id, changes, manager)
    return JSONResponse({"product_id": product_id, "request_id": request_id}, status_code=202)


@public
async def create_order(request: Request) -> Response:
    await limits(request).check_checkout(request)
    body = await read_json(request)
    key = request.headers.get("idempotency-key")
    gw = gateway(request)
    cap = gw.settings.max_units_per_product
    response = await run_in_threadpool(place_order, gw.outbox, body, key, client_id.scope(request), cap)
    return JSONResponse(response, status_code=202, headers={"Location": f"/api/orders/{response['order_id']}"})


@public
async def show_order(request: Request) -> Response:
    token = request.headers.get("x-order-token") or request.query_params.get("token")
    order = await run_in_threadpool(order_for_owner, gateway(request).outbox, request.path_params["order_id"], token)
    if order is None:
        raise ApiError(404, "No such order (or the token does not match).")
    return JSONResponse(order)


@public
async def login(request: Request) -> Response:
    await limits(request).check_login(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise InvalidInput({"body": "expected a JSON object"})
    username: Any = body.get("username")
    password: Any = body.get("password")
    fields = {
        f: "required" for f, v in (("username", username), ("password", password)) if not isinstance(v, str) or not v
    }
    if fields:
        raise InvalidInput(fields)
    result = await log_in(request, username, password)
    if result is None:
        raise ApiError(401, "Wrong username or password.")
    token, _session = result
    return JSONResponse({"token": token, "username": username})


@public
async def logout(request: Request) -> Response:
    await run_in_threadpool(accounts.logout, gateway(request).db, bearer_token(request))
    return Response(status_code=204)


@clerks_only
async def warehouse_orders(request: Request) -> Response:
    """Staff's search: ``status`` (default confirmed; empty: any), ``q``, ``from``/``to``, ``cursor``."""
    search = parse_search(request.query_params)

    def load(conn: Connection) -> dict[str, Any]:
        return find_orders(conn, search)

    return JSONResponse(await in_snapshot(request, load))


@public
async def cancel_order(request: Request) -> Response:
    """The shopper's *Cancel order*: 202 while it can be, 409 with why once it cannot."""
    token = request.headers.get("x-order-token") or request.query_params.get("token")
    order_id = request.path_params["order_id"]
    await run_in_threadpool(request_cancel, gateway(request).outbox, order_id, token)
    return JSONResponse({"order_id": order_id, "status": "cancel_requested"}, status_code=202)


@clerks_only
async def dispatch(request: Request) -> Response:
    clerk = request.state.clerk
    order_id = request.path_params["order_id"]
    await run_in_threadpool(request_dispatch, gateway(request).outbox, order_id, clerk.username)
    return JSONResponse({"order_id": order_id, "status": "dispatch_requested"}, status_code=202)


@clerks_only
async def restock(request: Request) -> Response:
    clerk = request.state.clerk
    body = await read_json(request)
    if not isinstance(body, dict):
        raise InvalidInput({"body": "expected a JSON object"})
    product_id = request.path_params["product_id"]
    request_id = await run_in_threadpool(
        request_restock, gateway(request).outbox, product_id, body.get("quantity"), clerk.username
    )
    return JSONResponse({"product_id": product_id, "request_id": request_id}, status_code=202)


def routes() -> list[BaseRoute]:
    """This module's routes, built when the app is (after ``app.http.paths.register_convertors``)."""
    return [
        Route("/products", list_products, methods=["GET"]),
        Route("/catalog/products", catalog_products, methods=["GET"]),
        Route("/catalog/products", create_product, methods=["POST"]),
        Route(f"/catalog/products/{paths.PRODUCT_ID}", change_product, methods=["PATCH"]),
        Route("/orders", create_order, methods=["POST"]),
        Route("/orders/{order_id}", show_order, methods=["GET"]),
        Route("/orders/{order_id}/cancel", cancel_order, methods=["POST"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/warehouse/orders", warehouse_orders, methods=["GET"]),
        Route("/warehouse/orders/{order_id}/dispatch", dispatch, methods=["POST"]),
        Route(f"/warehouse/products/{paths.PRODUCT_ID}/restock", restock, methods=["POST"]),
    ]
