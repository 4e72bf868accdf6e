"""What a manager asks of the catalog, checked against the read model and recorded in the gateway's outbox.

The gateway never writes the catalog's database. It chooses a new product's id itself
(one past the highest it has seen or handed out), so the manager gets it in the 202
answer, and pre-checks the sku against its read model and its open requests. The
catalog still decides: a request that raced another past this check is refused with
``product.refused``, which the projector records on the request; the catalog page
lists refused requests with their reason.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from app.http.errors import InvalidInput
from app.read_model import queries, tables
from app.shop.product_requests import request_for_product
from workers.contracts.storefront import ProductCreateRequested, ProductUpdateRequested
from workers.eventing import Outbox
from workers.eventing.ids import uuid7

MAX_PRICE_CENTS = 1_000_000  # €10,000: anything dearer is a typo in this shop
MAX_STOCK = 100_000
SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
CREATE_FIELDS = ("sku", "name", "description", "price_cents", "opening_stock")
CHANGE_FIELDS = ("name", "description", "price_cents", "archived")


@dataclass(frozen=True)
class NewProduct:
    sku: str
    name: str
    description: str
    price_cents: int
    opening_stock: int


def parse_new_product(body: Any) -> NewProduct:
    """A create request's fields, or a 422 naming each one at fault."""
    if not isinstance(body, dict):
        raise InvalidInput({"body": "expected a JSON object"}, "The request body must be a JSON object.")
    errors: dict[str, str] = {}
    _unknown(body, CREATE_FIELDS, errors)
    sku = body.get("sku")
    if not isinstance(sku, str) or not sku.strip():
        errors["sku"] = "required"
    elif not SKU.fullmatch(sku.strip()):
        errors["sku"] = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
    name = _name(body.get("name"), errors)
    description = _description(body.get("description", ""), errors)
    price = _price(body.get("price_cents"), errors)
    stock = body.get("opening_stock", 0)
    if not _whole(stock) or not 0 <= stock <= MAX_STOCK:
        errors["opening_stock"] = f"must be a whole number from 0 to {MAX_STOCK}"
    if errors:
        raise InvalidInput(errors)
    return NewProduct(str(sku).strip(), name, description, price, int(stock))


def parse_changes(body: Any) -> dict[str, Any]:
    """A change request's fields (at least one), or a 422 naming each one at fault."""
    if not isinstance(body, dict):
        raise InvalidInput({"body": "expected a JSON object"}, "The request body must be a JSON object.")
    errors: dict[str, str] = {}
    _unknown(body, CHANGE_FIELDS, errors)
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = _name(body["name"], errors)
    if "description" in body:
        changes["description"] = _description(body["description"], errors)
    if "price_cents" in body:
        changes["price_cents"] = _price(body["price_cents"], errors)
    if "archived" in body:
        if not isinstance(body["archived"], bool):
            errors["archived"] = "must be true or false"
        changes["archived"] = body["archived"]
    if not changes and not errors:
        errors["body"] = f"give at least one of {', '.join(CHANGE_FIELDS)}"
    if errors:
        raise InvalidInput(errors)
    return changes


def euros_to_cents(text: str) -> object:
    """A price typed in euros ("12.50") as cents; what cannot be one is handed on as is, to be refused."""
    try:
        cents = Decimal(text.strip().replace(",", ".").lstrip("€")) * 100
    except InvalidOperation:
        return text
    return int(cents) if cents == cents.to_integral_value() and cents.is_finite() else text


def request_product(outbox: Outbox, product: NewProduct, manager: str) -> int:
    """Record a new product's request; returns the product id the gateway chose for it."""
    try:
        return _request_product(outbox, product, manager)
    except IntegrityError:
        # Another web process took the same id at the same moment (PostgreSQL): take the next.
        return _request_product(outbox, product, manager)


def _request_product(outbox: Outbox, product: NewProduct, manager: str) -> int:
    request_id = uuid7()
    with outbox.unit_of_work() as uow:
        if _sku_taken(uow.conn, product.sku):
            raise InvalidInput({"sku": f"{product.sku} is already in the catalog"}, "This sku is taken.")
        product_id = _next_id(uow.conn)
        uow.conn.execute(
            insert(tables.catalog_requests).values(
                request_id=request_id,
                product_id=product_id,
                sku=product.sku,
                name=product.name,
                status="requested",
                requested_at=time.time(),
            )
        )
        uow.publish(
            ProductCreateRequested(
                request_id=request_id,
                product_id=product_id,
                sku=product.sku,
                name=product.name,
                description=product.description,
                price_cents=product.price_cents,
                opening_stock=product.opening_stock,
                manager=manager,
                requested_at=datetime.now(UTC),
            ),
            aggregate_id=str(product_id),
            aggregate_version=0,
            correlation_id=request_id,
        )
    return product_id


def request_change(outbox: Outbox, product_id: int, changes: dict[str, Any], manager: str) -> str:
    """Record a change of a product the read model knows (archived ones included); returns the request id."""
    return request_for_product(
        outbox,
        product_id,
        queries.product_row,
        lambda request_id: ProductUpdateRequested(
            request_id=request_id, product_id=product_id, manager=manager, requested_at=datetime.now(UTC), **changes
        ),
    )


def _sku_taken(conn: Connection, sku: str) -> bool:
    p, r = tables.products, tables.catalog_requests
    if conn.scalar(select(p.c.id).where(func.lower(p.c.sku) == sku.lower()).limit(1)) is not None:
        return True
    waiting = select(r.c.request_id).where(func.lower(r.c.sku) == sku.lower(), r.c.status == "requested")
    return conn.scalar(waiting.limit(1)) is not None


def _next_id(conn: Connection) -> int:
    highest_product = conn.scalar(select(func.max(tables.products.c.id))) or 0
    highest_request = conn.scalar(select(func.max(tables.catalog_requests.c.product_id))) or 0
    return max(highest_product, highest_request) + 1


def _unknown(body: dict[str, Any], allowed: tuple[str, ...], errors: dict[str, str]) -> None:
    for field in body:
        if field not in allowed:
            errors[str(field)[:40]] = f"unknown field; use {', '.join(allowed)}"


def _name(value: Any, errors: dict[str, str]) -> str:
    if not isinstance(value, str) or not value.strip():
        errors["name"] = "required" if value is None or isinstance(value, str) else "must be a string"
        return ""
    if len(value.strip()) > 200:
        errors["name"] = "at most 200 characters"
    elif any(ord(ch) < 32 for ch in value):
        errors["name"] = "contains control characters"
    return value.strip()


def _description(value: Any, errors: dict[str, str]) -> str:
    if not isinstance(value, str):
        errors["description"] = "must be a string"
        return ""
    if len(value) > 2000:
        errors["description"] = "at most 2000 characters"
    elif any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
        errors["description"] = "contains control characters"
    return value.strip()


def _price(value: Any, errors: dict[str, str]) -> int:
    if not _whole(value):
        errors["price_cents"] = "must be a whole number of cents"
        return 0
    if value < 0:
        errors["price_cents"] = "must not be negative"
    elif value > MAX_PRICE_CENTS:
        errors["price_cents"] = f"at most {MAX_PRICE_CENTS} cents (€{MAX_PRICE_CENTS // 100:,})"
    return int(value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
