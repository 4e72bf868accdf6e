"""The shopper's cart: product ids and quantities in a signed cookie (no account needed)."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response

from app.cookies import delete_cookie, set_cookie

CART_COOKIE = "storefront_cart"
MAX_LINES = 50
MAX_QUANTITY = 99


def _serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.secret_key, salt="cart")


def read_cart(request: Request) -> dict[int, int]:
    raw = request.cookies.get(CART_COOKIE)
    if not raw:
        return {}
    try:
        data: Any = _serializer(request).loads(raw)
    except BadSignature:
        return {}
    if not isinstance(data, dict):
        return {}
    cart: dict[int, int] = {}
    for key, value in data.items():
        if str(key).isdigit() and isinstance(value, int) and 0 < value <= MAX_QUANTITY:
            cart[int(key)] = value
    return cart


def write_cart(request: Request, response: Response, cart: dict[int, int]) -> None:
    if not cart:
        delete_cookie(request, response, CART_COOKIE)
        return
    value = _serializer(request).dumps({str(k): v for k, v in list(cart.items())[:MAX_LINES]})
    set_cookie(request, response, CART_COOKIE, value)


def add(cart: dict[int, int], product_id: int, quantity: int) -> dict[int, int]:
    updated = dict(cart)
    updated[product_id] = min(MAX_QUANTITY, updated.get(product_id, 0) + quantity)
    return updated
