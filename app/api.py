"""The JSON API of the contract (DESIGN.md): products, checkout, order status, clerks."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app import clerks, client, paths, read_model
from app.access import clerks_only, public
from app.auth import bearer_token, session_policy
from app.bodies import read_json
from app.checkout import max_units
from app.errors import ApiError, InvalidInput
from app.limits import limits
from app.ordering import order_for_owner, place_order
from app.state import gateway
from app.warehouse_requests import request_dispatch, request_restock

ORDER_STATUSES = ("pending", "confirmed", "cancelled", "dispatched", "shipped", "delivered")


@public
async def list_products(request: Request) -> Response:
    db = gateway(request).db

    def load() -> dict[str, object]:
        with db.snapshot() as conn:
            return {"products": read_model.products(conn), "stream_id": read_model.position(conn, "stock")}

    return JSONResponse(await run_in_threadpool(load))


@public
async def create_order(request: Request) -> Response:
    await limits(request).check_checkout(request)
    body = await read_json(request)
    key = request.headers.get("idempotency-key")
    gw = gateway(request)
    cap = max_units(gw.settings)
    response = await run_in_threadpool(place_order, gw.outbox, body, key, client.scope(request), cap)
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
    result = await run_in_threadpool(clerks.login, gateway(request).db, username, password, session_policy(request))
    if result is None:
        raise ApiError(401, "Wrong username or password.")
    token, _session = result
    return JSONResponse({"token": token, "username": username})


@public
async def logout(request: Request) -> Response:
    await run_in_threadpool(clerks.logout, gateway(request).db, bearer_token(request))
    return Response(status_code=204)


@clerks_only
async def warehouse_orders(request: Request) -> Response:
    status = request.query_params.get("status", "confirmed")
    if status not in ORDER_STATUSES:
        raise InvalidInput({"status": f"one of {', '.join(ORDER_STATUSES)}"})
    db = gateway(request).db

    def load() -> list[dict[str, object]]:
        with db.snapshot() as conn:
            return read_model.orders_with_status(conn, status)

    return JSONResponse({"orders": await run_in_threadpool(load)})


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


ROUTES = [
    Route("/api/products", list_products, methods=["GET"]),
    Route("/api/orders", create_order, methods=["POST"]),
    Route("/api/orders/{order_id}", show_order, methods=["GET"]),
    Route("/api/login", login, methods=["POST"]),
    Route("/api/logout", logout, methods=["POST"]),
    Route("/api/warehouse/orders", warehouse_orders, methods=["GET"]),
    Route("/api/warehouse/orders/{order_id}/dispatch", dispatch, methods=["POST"]),
    Route(f"/api/warehouse/products/{paths.PRODUCT_ID}/restock", restock, methods=["POST"]),
]
