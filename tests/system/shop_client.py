"""A shopper's and a clerk's view of a running stack, through the HTTP/WebSocket contract only."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx
from websockets.sync.client import connect

from tests.support.waiting import wait_until

DEV_CLERK = ("clerk", "clerk-dev-password")
SETTLED = ("confirmed", "cancelled", "dispatched", "shipped", "delivered")
Items = Iterable[tuple[int, int]]
Json = dict[str, Any]


@dataclass(frozen=True)
class PlacedOrder:
    """The gateway's 202 answer to a checkout."""

    order_id: str
    token: str
    status: str
    tracking_url: str


def order_body(items: Items = ((1, 1),), payment_method: str = "pm_card_visa", **fields: Any) -> Json:
    """A valid checkout body (a fresh customer email each time); ``fields`` override or add fields."""
    body: Json = {
        "email": f"shopper-{uuid.uuid4().hex[:10]}@example.com",
        "name": "Ada Lovelace",
        "address": "12 Analytical Row, London",
        "items": [{"product_id": product_id, "quantity": quantity} for product_id, quantity in items],
        "payment_method": payment_method,
    }
    body.update(fields)
    return body


def statuses(order: Json) -> list[str]:
    """The statuses of an order's history, oldest first."""
    return [entry["status"] for entry in order["history"]]


def expect(response: httpx.Response, status: int) -> Json:
    """The response's JSON, after checking its status (the body is shown when it is not)."""
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    result: Json = response.json()
    return result


def stream_key(stream_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = stream_id.partition("-")
    return int(milliseconds), int(sequence or 0)


class ShopClient:
    """JSON calls of the contract; ``login`` makes it a clerk as well."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=timeout)
        self.clerk_token: str | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    # The shopper

    def products(self) -> dict[int, Json]:
        """Every product by id, with its live ``on_hand`` and ``available``."""
        return {p["id"]: p for p in expect(self.http.get("/api/products"), 200)["products"]}

    def product(self, product_id: int) -> Json:
        return self.products()[product_id]

    def stock_position(self) -> str:
        """The stock stream id the product figures reflect."""
        position: str = expect(self.http.get("/api/products"), 200)["stream_id"]
        return position

    def submit(self, body: Any, idempotency_key: str | None = None) -> httpx.Response:
        """POST /api/orders as is: ``body`` is JSON-encoded unless it is already ``bytes``."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else {}
        if isinstance(body, bytes):
            headers["Content-Type"] = "application/json"
            return self.http.post("/api/orders", content=body, headers=headers)
        return self.http.post("/api/orders", json=body, headers=headers)

    def checkout(self, items: Items = ((1, 1),), payment_method: str = "pm_card_visa", **fields: Any) -> PlacedOrder:
        """Check out a cart of ``(product_id, quantity)`` and return the 202 answer."""
        return self.placed(self.submit(order_body(items, payment_method, **fields)))

    def placed(self, response: httpx.Response) -> PlacedOrder:
        answer = expect(response, 202)
        return PlacedOrder(answer["order_id"], answer["token"], answer["status"], answer["tracking_url"])

    def order(self, placed: PlacedOrder) -> Json:
        """GET /api/orders/{id} with the order's token."""
        return expect(self.http.get(f"/api/orders/{placed.order_id}", headers={"X-Order-Token": placed.token}), 200)

    def wait_for_status(self, placed: PlacedOrder, *statuses: str, timeout: float = 15.0) -> Json:
        """Poll the order until its status is one of ``statuses``; return it."""

        def reached() -> Json | None:
            order = self.order(placed)
            return order if order["status"] in statuses else None

        return wait_until(reached, timeout, f"order {placed.order_id} never reached {statuses}")

    def wait_for_product(self, product_id: int, timeout: float = 15.0, **figures: int) -> Json:
        """Poll a product until it shows ``figures`` (e.g. ``available=5``); return it."""

        def shows() -> Json | None:
            product = self.product(product_id)
            return product if all(product[name] == value for name, value in figures.items()) else None

        return wait_until(shows, timeout, f"product {product_id} never showed {figures}")

    def wait_for_catalog(self, count: int, timeout: float = 20.0) -> dict[int, Json]:
        """Wait until ``count`` products are listed and the warehouse stocks every one of them.

        The warehouse and the gateway learn of products from different streams, so a product
        can be listed before the warehouse has a shelf for it (a restock would then be
        ignored). The warehouse's opening-stock change, replayed over ``/ws/stock``, says it has.
        """

        def all_listed() -> dict[int, Json] | None:
            products = self.products()
            return products if len(products) >= count else None

        listed = wait_until(all_listed, timeout, f"fewer than {count} products listed")
        changes = self.stock_changes("0-0", lambda seen: set(listed) <= {c["product_id"] for c in seen}, timeout)
        last = changes[-1]["stream_id"]
        wait_until(
            lambda: stream_key(self.stock_position()) >= stream_key(last), timeout, "stock figures never caught up"
        )
        return self.products()

    def stock_changes(self, after: str, until: Callable[[list[Json]], bool], timeout: float = 15.0) -> list[Json]:
        """Messages of ``/ws/stock?after=...`` (replay, then live) until ``until(messages)`` holds."""
        url = self.base_url.replace("http://", "ws://", 1) + f"/ws/stock?after={after}"
        messages: list[Json] = []
        deadline = time.monotonic() + timeout
        with connect(url, open_timeout=timeout) as socket:
            while not until(messages):
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"/ws/stock never delivered what was awaited; got {messages}"
                try:
                    messages.append(json.loads(socket.recv(timeout=remaining)))
                except TimeoutError:
                    continue
        return messages

    # The clerk

    def login(self, username: str = DEV_CLERK[0], password: str = DEV_CLERK[1]) -> str:
        """Log in as a clerk; later clerk calls carry the bearer token."""
        token: str = expect(self.http.post("/api/login", json={"username": username, "password": password}), 200)[
            "token"
        ]
        self.clerk_token = token
        return token

    def _clerk_headers(self) -> dict[str, str]:
        assert self.clerk_token is not None, "log in first"
        return {"Authorization": f"Bearer {self.clerk_token}"}

    def warehouse_orders(self, status: str = "confirmed") -> dict[str, Json]:
        """The clerk's list of orders with ``status``, by order id."""
        response = self.http.get("/api/warehouse/orders", params={"status": status}, headers=self._clerk_headers())
        return {o["order_id"]: o for o in expect(response, 200)["orders"]}

    def dispatch(self, order_id: str) -> Json:
        """The clerk clicks *Dispatch*."""
        response = self.http.post(f"/api/warehouse/orders/{order_id}/dispatch", headers=self._clerk_headers())
        return expect(response, 202)

    def restock(self, product_id: int, quantity: int) -> Json:
        response = self.http.post(
            f"/api/warehouse/products/{product_id}/restock", json={"quantity": quantity}, headers=self._clerk_headers()
        )
        return expect(response, 202)
