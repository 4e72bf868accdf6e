"""The shopper's cart: product ids and quantities in a signed cookie (no account needed).

Each line also remembers the price the product had when it went into the cart, so
the cart can tell the shopper that a price changed since (checkout charges the
price of the moment, from the read model).
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response

from app.http.cookies import delete_cookie, set_cookie

CART_COOKIE = "storefront_cart"
MAX_LINES = 50
MAX_QUANTITY = 99


def _serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.secret_key, salt="cart")


def read_cart(request: Request) -> dict[int, int]:
    """Quantities per product id."""
    return {product_id: quantity for product_id, (quantity, _price) in _lines(request).items()}


def seen_prices(request: Request) -> dict[int, int | None]:
    """The price each product had when it went into the cart (None: not known)."""
    return {product_id: price for product_id, (_quantity, price) in _lines(request).items()}


def _lines(request: Request) -> dict[int, tuple[int, int | None]]:
    raw = request.cookies.get(CART_COOKIE)
    if not raw:
        return {}
    try:
        data: Any = _serializer(request).loads(raw)
    except BadSignature:
        return {}
    if not isinstance(data, dict):
        return {}
    lines: dict[int, tuple[int, int | None]] = {}
    for key, value in data.items():
        # [quantity, price] now; a bare quantity from before prices were remembered.
        quantity, price = (value[0], value[1]) if isinstance(value, list) and len(value) == 2 else (value, None)
        if not isinstance(price, int) or isinstance(price, bool):
            price = None
        if str(key).isdigit() and isinstance(quantity, int) and 0 < quantity <= MAX_QUANTITY:
            lines[int(key)] = (quantity, price)
    return lines


def write_cart(
    request: Request, response: Response, cart: dict[int, int], prices: dict[int, int | None] | None = None
) -> None:
    """Store the cart; ``prices`` are the prices seen when each line was added."""
    if not cart:
        delete_cookie(request, response, CART_COOKIE)
        return
    prices = prices or {}
    lines = {str(k): [v, prices.get(k)] for k, v in list(cart.items())[:MAX_LINES]}
    set_cookie(request, response, CART_COOKIE, _serializer(request).dumps(lines))


def add(cart: dict[int, int], product_id: int, quantity: int) -> dict[int, int]:
    updated = dict(cart)
    updated[product_id] = min(MAX_QUANTITY, updated.get(product_id, 0) + quantity)
    return updated
