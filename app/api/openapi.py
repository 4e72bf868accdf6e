"""``GET /api/openapi.json``: the OpenAPI 3.1 document of the JSON API.

Built from the app's own routes: each ``/api`` route is described by its entry in
``OPERATIONS`` (summary, request and answer models, the errors it gives), its path
parameters come from the route's convertors, and who may call it from the role the
route declares (``app.auth.access``). Schemas are generated from the pydantic models in
``app.api.schemas`` and ``app.ops.schemas``. A route without an entry is left out, and
``tests/app/test_openapi.py`` fails on it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.convertors import IntegerConvertor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from app.api import schemas
from app.auth.access import access_of, public
from app.ops import schemas as ops
from workers.contracts.orders import ORDER_STATUSES

TITLE = "Brew & Steep storefront API"
JSON_BODY_ERRORS = (413, 415, 422)
REASONS = {
    400: "Bad request",
    401: "Not logged in (send Authorization: Bearer <token>)",
    403: "Logged in without the role this route needs",
    404: "No such thing (or the token does not match)",
    409: "Conflicts with the current state",
    413: "Body too large",
    415: "The body must be application/json",
    422: "Invalid input; the fields at fault are named",
    429: "Too many requests; see Retry-After",
    503: "A backing service (Redis) is not reachable; try again",
}


@dataclass(frozen=True)
class Operation:
    """What the document says about one method of one route."""

    summary: str
    answer: type[BaseModel] | None
    status: int = 200
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    parameters: tuple[dict[str, Any], ...] = ()


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _header(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "description": description, "schema": schema}


_STATUSES = {"type": "string", "enum": ["", *ORDER_STATUSES]}

# Who holds an order's token may see and cancel it: in a header, or the query when a header cannot be sent.
_ORDER_TOKEN = (
    _header("X-Order-Token", "the order's token (from the checkout's answer)"),
    _query("token", "the order's token, when a header cannot be sent", type="string"),
)


OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/api/openapi.json"): Operation("This document", None),
    ("GET", "/api/products"): Operation("Products with their live stock", schemas.ProductList),
    ("POST", "/api/orders"): Operation(
        "Check out: the order is recorded and answered at once",
        schemas.OrderAccepted,
        202,
        schemas.CheckoutRequest,
        (*JSON_BODY_ERRORS, 409, 429),
        (_header("Idempotency-Key", "the same key and body give the same order", maxLength=200),),
    ),
    ("GET", "/api/catalog/products"): Operation(
        "The manager's catalog: every product and the open new-product requests", schemas.CatalogProducts
    ),
    ("POST", "/api/catalog/products"): Operation(
        "Ask the catalog for a new product (the answer names the id it will have)",
        schemas.ProductAccepted,
        202,
        schemas.NewProductRequest,
        (*JSON_BODY_ERRORS, 409),
    ),
    ("PATCH", "/api/catalog/products/{product_id}"): Operation(
        "Change a product's name, description or price, or archive it",
        schemas.ProductChangeAccepted,
        202,
        schemas.ProductChangeRequest,
        (*JSON_BODY_ERRORS, 404, 409),
    ),
    ("POST", "/api/orders/{order_id}/cancel"): Operation(
        "Cancel an order (its token required) while it is pending or confirmed and not dispatched",
        schemas.CancelAccepted,
        202,
        errors=(404, 409),
        parameters=_ORDER_TOKEN,
    ),
    ("GET", "/api/orders/{order_id}"): Operation(
        "An order, for whoever holds its token",
        schemas.Order,
        errors=(404,),
        parameters=_ORDER_TOKEN,
    ),
    ("POST", "/api/login"): Operation(
        "Log in as staff (clerk or manager) for a bearer token",
        schemas.LoginAnswer,
        body=schemas.LoginRequest,
        errors=(*JSON_BODY_ERRORS, 401, 429),
    ),
    ("POST", "/api/logout"): Operation("End the bearer token's session", None, 204),
    ("GET", "/api/warehouse/orders"): Operation(
        "Staff's order search: by status (confirmed by default, empty for any), id prefix or email, day range",
        schemas.WarehouseOrders,
        errors=(422,),
        parameters=(
            _query("status", "the orders' status (empty: any)", **_STATUSES),
            _query("q", "an order id prefix or an email", type="string"),
            _query("from", "placed on or after this day (UTC)", type="string", format="date"),
            _query("to", "placed on or before this day (UTC)", type="string", format="date"),
            _query("cursor", "a previous answer's next_cursor", type="string"),
            _query("limit", "orders per page", type="integer", minimum=1),
        ),
    ),
    ("POST", "/api/warehouse/orders/{order_id}/dispatch"): Operation(
        "Dispatch a confirmed order", schemas.DispatchAccepted, 202, errors=(404, 409)
    ),
    ("POST", "/api/warehouse/products/{product_id}/restock"): Operation(
        "Add units of a product to the shelf",
        schemas.RestockAccepted,
        202,
        schemas.RestockRequest,
        (*JSON_BODY_ERRORS, 404),
    ),
    ("GET", "/api/ops/status"): Operation(
        "Streams, consumer groups, services and the dead-letter count", ops.OpsStatus, errors=(503,)
    ),
    ("GET", "/api/ops/dead-letters"): Operation("The oldest dead letters", ops.DeadLetters, errors=(503,)),
    ("POST", "/api/ops/dead-letters/{dlq_id}/retry"): Operation(
        "Put a dead letter back on its stream (audited); 409 past the redrive window (DLQ_REDRIVE_S)",
        ops.DeadLetterAction,
        202,
        errors=(404, 409, 503),
    ),
    ("POST", "/api/ops/dead-letters/{dlq_id}/discard"): Operation(
        "Remove a dead letter for good (audited)", ops.DeadLetterAction, 202, errors=(404, 503)
    ),
}

_MODELS: tuple[type[BaseModel], ...] = (
    schemas.Error,
    *{m for op in OPERATIONS.values() for m in (op.answer, op.body) if m is not None},
)


def api_routes(routes: Sequence[BaseRoute], prefix: str = "") -> list[tuple[str, str, Route]]:
    """Every (method, path template, route) of the JSON API (HEAD, which Starlette adds to GET, left out)."""
    found = []
    for route in routes:
        if isinstance(route, Mount):
            found += api_routes(route.routes, prefix + route.path)
        elif isinstance(route, Route) and (path := prefix + route.path).startswith("/api/"):
            found += [(m, _template(path), route) for m in sorted(route.methods or ()) if m != "HEAD"]
    return found


def document(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document of these routes."""
    _, definitions = models_json_schema(
        [(m, "validation" if any(op.body is m for op in OPERATIONS.values()) else "serialization") for m in _MODELS],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for method, path, route in api_routes(routes):
        operation = OPERATIONS.get((method, path))
        if operation is not None:
            paths.setdefault(path, {})[method.lower()] = _describe(method, path, route, operation)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": "1"},
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _describe(method: str, path: str, route: Route, operation: Operation) -> dict[str, Any]:
    access = access_of(route.endpoint)
    errors = set(operation.errors)
    described: dict[str, Any] = {
        "operationId": f"{method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', _template(path))}".rstrip("_"),
        "summary": operation.summary,
        "parameters": [*_path_parameters(route), *operation.parameters],
    }
    if access not in (None, "public"):
        described["security"] = [{"bearer": []}]
        described["description"] = f"For staff with the {access} role (a manager may do what a clerk may)."
        errors |= {401, 403} if access == "manager" else {401}
    if operation.body is not None:
        described["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(operation.body)}}}
    answer: dict[str, Any] = {"description": operation.summary}
    if operation.answer is not None:
        answer["content"] = {"application/json": {"schema": _ref(operation.answer)}}
    elif operation.status != 204:
        answer["content"] = {"application/json": {"schema": {"type": "object"}}}
    described["responses"] = {
        str(operation.status): answer,
        **{
            str(status): {
                "description": REASONS[status],
                "content": {"application/json": {"schema": _ref(schemas.Error)}},
            }
            for status in sorted(errors)
        },
    }
    return described


def _path_parameters(route: Route) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}
            if isinstance(convertor, IntegerConvertor)
            else {"type": "string"},
        }
        for name, convertor in route.param_convertors.items()
    ]


def _template(path: str) -> str:
    """``/x/{id:int}`` as OpenAPI writes it: ``/x/{id}``."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


@public
async def openapi_json(request: Request) -> Response:
    cached: dict[str, Any] | None = getattr(request.app.state, "openapi", None)
    if cached is None:
        cached = document(request.app.routes)
        request.app.state.openapi = cached
    return JSONResponse(cached)


def routes() -> list[BaseRoute]:
    """This module's routes, built when the app is (after ``app.http.paths.register_convertors``)."""
    return [Route("/openapi.json", openapi_json, methods=["GET"])]
