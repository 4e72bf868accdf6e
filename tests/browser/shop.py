"""What the browser tests need besides a browser: the stack's JSON API and its streams.

The browser drives the pages; this side arranges and observes through the contract
(``/api/...``) and, where a test must know that a change has *landed* while no web
process was there to ask, by reading the Redis streams the services publish on.
Waiting is polling with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from tests.support.stack import Stack
from tests.support.waiting import wait_until
from workers.catalog.demo import DEMO_PRODUCTS
from workers.eventing.registry import EVENT_FIELD

T = TypeVar("T")

CLERK_USER = "clerk"
CLERK_PASSWORD = "clerk-dev-password"
MANAGER_USER = "manager"
MANAGER_PASSWORD = "manager-dev-password"
CUSTOMER = {"email": "ada@example.com", "name": "Ada Lovelace", "address": "12 Analytical Row, London"}
DEADLINE_S = 20.0
# The live-state indicator in the footer, set by static/live.js on htmx:wsOpen / htmx:wsClose.
LIVE = "● live"
RECONNECTING = "○ reconnecting…"


def eventually(probe: Callable[[], T | None], what: str, timeout: float = DEADLINE_S) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    return wait_until(probe, timeout, f"waiting for {what}", interval=0.05)


class ShopApi:
    """The stack's JSON API, as an outside program (or a clerk's script) uses it."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self._clerk_token: str | None = None

    def _http(self) -> httpx.Client:
        # A client per call: the web process is restarted by some tests.
        return httpx.Client(base_url=self.stack.url, timeout=10.0)

    def products(self) -> dict[int, dict[str, Any]]:
        with self._http() as http:
            response = http.get("/api/products")
        response.raise_for_status()
        return {int(p["id"]): p for p in response.json()["products"]}

    def product(self, product_id: int) -> dict[str, Any]:
        return self.products()[product_id]

    def wait_for_catalog(self) -> dict[int, dict[str, Any]]:
        """The demo catalog, once the gateway's read model has every product with its opening stock."""
        opening = sum(p.opening_stock for p in DEMO_PRODUCTS)

        def seeded() -> dict[int, dict[str, Any]] | None:
            products = self.products()
            complete = len(products) == len(DEMO_PRODUCTS)
            return products if complete and sum(p["on_hand"] for p in products.values()) == opening else None

        return eventually(seeded, "the demo catalog with its stock in the read model")

    def clerk_headers(self) -> dict[str, str]:
        if self._clerk_token is None:
            with self._http() as http:
                response = http.post("/api/login", json={"username": CLERK_USER, "password": CLERK_PASSWORD})
            response.raise_for_status()
            self._clerk_token = str(response.json()["token"])
        return {"Authorization": f"Bearer {self._clerk_token}"}

    def place_order(
        self,
        items: dict[int, int],
        payment_method: str = "pm_card_visa",
        customer: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """``POST /api/orders`` for ``{product_id: quantity}``; the 202 body (order id, token, tracking url)."""
        lines = [{"product_id": pid, "quantity": qty} for pid, qty in items.items()]
        body = {**(customer or CUSTOMER), "items": lines, "payment_method": payment_method}
        with self._http() as http:
            response = http.post("/api/orders", json=body)
        assert response.status_code == 202, response.text
        return cast(dict[str, Any], response.json())

    def order(self, order_id: str, token: str) -> dict[str, Any]:
        with self._http() as http:
            response = http.get(f"/api/orders/{order_id}", headers={"X-Order-Token": token})
        response.raise_for_status()
        return cast(dict[str, Any], response.json())

    def wait_for_status(self, placed: dict[str, Any], status: str) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            order = self.order(placed["order_id"], placed["token"])
            return order if order["status"] == status else None

        return eventually(reached, f"order {placed['order_id']} to be {status}")

    def restock(self, product_id: int, quantity: int) -> str:
        with self._http() as http:
            response = http.post(
                f"/api/warehouse/products/{product_id}/restock",
                json={"quantity": quantity},
                headers=self.clerk_headers(),
            )
        assert response.status_code == 202, response.text
        return str(response.json()["request_id"])

    def dispatch(self, order_id: str) -> None:
        with self._http() as http:
            response = http.post(f"/api/warehouse/orders/{order_id}/dispatch", headers=self.clerk_headers())
        assert response.status_code == 202, response.text

    def wait_for_stock(self, product_id: int, on_hand: int, available: int | None = None) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            product = self.product(product_id)
            wanted = product["on_hand"] == on_hand and (available is None or product["available"] == available)
            return product if wanted else None

        return eventually(reached, f"product {product_id} to have {on_hand} on hand in the read model")

    def stream_events(self, stream: str) -> list[dict[str, Any]]:
        """Every event on one of the stack's streams, read straight from Redis."""
        client = self.stack.redis.client()
        try:
            entries = cast(list[Any], client.xrange(stream))
        finally:
            client.close()
        return [json.loads(fields[EVENT_FIELD]) for _entry_id, fields in entries]


def mark(page: Page) -> None:
    """Tag the loaded document: a reload (or a navigation) would lose the tag."""
    page.evaluate("window.__marker = 1")


def marked(page: Page) -> bool:
    return bool(page.evaluate("window.__marker === 1"))


def pump_until(page: Page, probe: Callable[[], T | None], what: str, timeout: float = DEADLINE_S) -> T:
    """Like ``eventually``, but lets Playwright deliver its events (route and socket handlers) meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        page.wait_for_timeout(25)


def open_live(context: BrowserContext, url: str) -> Page:
    """A page whose socket is connected, tagged with ``window.__marker``."""
    page = context.new_page()
    page.goto(url)
    expect(page.locator("#live-state")).to_have_text(LIVE)
    mark(page)
    return page


def log_in_clerk(context: BrowserContext, base_url: str) -> Page:
    """The clerk logs in through ``/login`` and lands on the live console at ``/warehouse``."""
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.locator('input[name="username"]').fill(CLERK_USER)
    page.locator('input[name="password"]').fill(CLERK_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base_url}/warehouse")
    expect(page.locator("#live-state")).to_have_text(LIVE)
    mark(page)
    return page


def log_in_to_ops(context: BrowserContext, base_url: str) -> Page:
    """The manager logs in through ``/login`` and lands on the live ops console at ``/ops``."""
    page = context.new_page()
    page.goto(f"{base_url}/login?next=/ops")
    page.locator('input[name="username"]').fill(MANAGER_USER)
    page.locator('input[name="password"]').fill(MANAGER_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base_url}/ops")
    expect(page.locator("#live-state")).to_have_text(LIVE)
    mark(page)
    return page
