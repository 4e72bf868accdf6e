"""Checking a shopper's cart against the read model, field by field.

Pure functions: the route hands in the parsed JSON and the products it knows; out
comes a ``Checkout`` or an ``InvalidInput`` naming every field that is wrong.
Availability is not checked here: the warehouse is the truth about stock, and an
order it cannot fill is cancelled and compensated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.http.errors import InvalidInput
from app.read_model.queries import Product
from workers.contracts.common import Customer, Line
from workers.contracts.payments import PAYMENT_TOKENS

PAYMENT_METHODS = tuple(t.token for t in PAYMENT_TOKENS)
MAX_QUANTITY = 99  # per line, whatever the shop allows per order
MAX_LINES = 50
# Units of one product in one order, unless the shop sets MAX_UNITS_PER_PRODUCT: enough
# for a household, not enough for one client to reserve a product's whole stock at once.
DEFAULT_MAX_UNITS = 10
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


@dataclass(frozen=True)
class Checkout:
    customer: Customer
    lines: list[Line]
    payment_method: str

    @property
    def total_cents(self) -> int:
        return sum(line.line_total_cents for line in self.lines)

    def canonical(self) -> dict[str, Any]:
        """What makes two requests "the same body" for an idempotency key."""
        return {
            "customer": self.customer.model_dump(),
            "items": sorted((line.product_id, line.quantity) for line in self.lines),
            "payment_method": self.payment_method,
        }


def parse_checkout(body: Any, catalog: Mapping[int, Product], units_cap: int = MAX_QUANTITY) -> Checkout:
    if not isinstance(body, dict):
        raise InvalidInput({"body": "expected a JSON object"}, "The request body must be a JSON object.")
    errors: dict[str, str] = {}
    email = _text(body, "email", 254, errors)
    if email and not _EMAIL.match(email):
        errors["email"] = "not a valid email address"
    elif email and not email.isascii():
        # Internationalised addresses need SMTPUTF8 end to end; refuse them up front
        # rather than accept an order whose emails can never be sent.
        errors["email"] = "use an email address in plain ASCII characters"
    name = _text(body, "name", 200, errors)
    address = _text(body, "address", 500, errors)
    method = body.get("payment_method")
    if not isinstance(method, str) or not method:
        errors["payment_method"] = "required"
    elif method not in PAYMENT_METHODS:
        errors["payment_method"] = f"unknown payment method; use one of {', '.join(PAYMENT_METHODS)}"
    quantities = _items(body.get("items"), catalog, units_cap, errors)
    if errors:
        raise InvalidInput(errors)
    lines = [
        Line(
            product_id=product.id,
            sku=product.sku,
            name=product.name,
            unit_price_cents=product.price_cents,
            quantity=quantity,
            line_total_cents=product.price_cents * quantity,
        )
        for product, quantity in ((catalog[pid], q) for pid, q in quantities.items())
    ]
    customer = Customer(email=email, name=name, address=address)
    return Checkout(customer=customer, lines=lines, payment_method=str(method))


def _text(body: dict[str, Any], field: str, limit: int, errors: dict[str, str]) -> str:
    value = body.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        errors[field] = "required"
        return ""
    if not isinstance(value, str):
        errors[field] = "must be a string"
        return ""
    if len(value) > limit:
        errors[field] = f"at most {limit} characters"
        return ""
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
        errors[field] = "contains control characters"
        return ""
    return value.strip()


def _items(items: Any, catalog: Mapping[int, Product], units_cap: int, errors: dict[str, str]) -> dict[int, int]:
    """Quantities per product; the same product twice counts as one line."""
    if not isinstance(items, list) or not items:
        errors["items"] = "the cart is empty" if isinstance(items, list) or items is None else "must be a list"
        return {}
    if len(items) > MAX_LINES:
        errors["items"] = f"at most {MAX_LINES} lines"
        return {}
    quantities: dict[int, int] = {}
    for index, item in enumerate(items):
        where = f"items[{index}]"
        if not isinstance(item, dict):
            errors[where] = "must be an object with product_id and quantity"
            continue
        product_id: Any = item.get("product_id")
        quantity: Any = item.get("quantity")
        if not _whole(product_id) or product_id not in catalog:
            errors[f"{where}.product_id"] = "unknown product"
        elif catalog[product_id].archived:
            errors[f"{where}.product_id"] = f"{catalog[product_id].name} is no longer on sale"
        if not _whole(quantity) or not 1 <= quantity <= MAX_QUANTITY:
            errors[f"{where}.quantity"] = f"must be a whole number from 1 to {MAX_QUANTITY}"
        if f"{where}.product_id" not in errors and f"{where}.quantity" not in errors:
            quantities[product_id] = quantities.get(product_id, 0) + quantity
    for product_id, quantity in quantities.items():
        if quantity > units_cap:
            errors["items"] = f"at most {units_cap} units of product {product_id} per order"
    return quantities


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
