"""Screenshots for the docs, taken by the tests' own browser.

``make test`` takes them into a scratch folder (the pages must still render and fit), so a
run leaves the tree as it found it; ``make screenshots`` sets ``SCREENSHOT_DIR`` to
``docs/screenshots`` and refreshes the README's pictures.

``docs/screenshots/``: the storefront at a laptop and a phone viewport, an order page,
the clerk's console with orders ready to dispatch, the manager's catalog page, an
order the shopper cancelled and was refunded for, and the manager's ops console
(shipping paused, so its group lags; one dead letter). The pages are first put in a
representative state through the contract: a delivered order, one on its way, two
waiting for the clerk. Each page must also fit its viewport's width.
"""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LAPTOP, PHONE, Visitors, demo_stack
from tests.browser.shop import LIVE, ShopApi, eventually, log_in_clerk, log_in_to_ops
from tests.browser.test_live_catalog import log_in_manager
from tests.support.stack import Stack
from workers.eventing.registry import EVENT_FIELD, TYPE_FIELD

pytestmark = [pytest.mark.browser, pytest.mark.stack]

MUG, KETTLE, DRIPPER, FILTERS, ETHIOPIA, SCALE, TEAPOT, SENCHA = 1, 2, 4, 5, 6, 8, 9, 10


def fits_its_width(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def shots_dir() -> Path:
    """Where pictures go: ``SCREENSHOT_DIR`` (``make screenshots``), else a scratch folder."""
    configured = os.environ.get("SCREENSHOT_DIR")
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "storefront-screenshots"


def shoot(page: Page, name: str) -> None:
    target = shots_dir()
    target.mkdir(parents=True, exist_ok=True)
    assert fits_its_width(page), f"{name}: the page is wider than its viewport"
    page.screenshot(path=target / name, full_page=True, animations="disabled")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, chromium: Path) -> Iterator[Stack]:
    """A stack of this module's own: the pictures count buttons, rows and dead letters, so no
    other module's orders, products or poison entries may be on it."""
    with demo_stack(tmp_path_factory.mktemp("screenshots")) as running:
        yield running


@pytest.fixture(scope="module")
def delivered(stack: Stack, api: ShopApi) -> Iterator[dict[str, str]]:
    """A delivered order, one dispatched (shipping paused), two ready for the clerk."""
    customer = {"email": "grace@example.com", "name": "Grace Hopper", "address": "1 Compiler Lane, Arlington VA"}
    done = api.place_order({KETTLE: 1, DRIPPER: 1, FILTERS: 2}, customer=customer)
    api.wait_for_status(done, "confirmed")
    api.dispatch(done["order_id"])
    api.wait_for_status(done, "delivered")

    stack.signal("shipping", signal.SIGSTOP)
    try:
        away = api.place_order({ETHIOPIA: 2}, customer={**customer, "name": "Alan Turing"})
        api.wait_for_status(away, "confirmed")
        api.dispatch(away["order_id"])
        api.wait_for_status(away, "dispatched")
        for items, name in (({MUG: 2, SCALE: 1}, "Ada Lovelace"), ({TEAPOT: 1, SENCHA: 2}, "Katherine Johnson")):
            api.wait_for_status(api.place_order(items, customer={**customer, "name": name}), "confirmed")
        yield done
    finally:
        stack.signal("shipping", signal.SIGCONT)


def test_warehouse_console(stack: Stack, delivered: dict[str, str], visitors: Visitors) -> None:
    console = log_in_clerk(visitors.new(LAPTOP), stack.url)
    expect(console.get_by_role("button", name="Dispatch")).to_have_count(2)
    expect(console.locator("#recent-orders > li")).to_have_count(1)
    shoot(console, "warehouse.png")


def test_storefront(stack: Stack, delivered: dict[str, str], visitors: Visitors) -> None:
    for viewport, name in ((LAPTOP, "storefront.png"), (PHONE, "storefront-phone.png")):
        page = visitors.new(viewport).new_page()
        page.goto(stack.url)
        expect(page.locator("#live-state")).to_have_text(LIVE)
        expect(page.locator(".card")).to_have_count(12)
        shoot(page, name)


def test_order_page(stack: Stack, delivered: dict[str, str], visitors: Visitors) -> None:
    page = visitors.new(LAPTOP).new_page()
    page.goto(stack.url + delivered["tracking_url"])
    expect(page.locator("#live-state")).to_have_text(LIVE)
    expect(page.locator("#order-status")).to_have_text("delivered")
    expect(page.locator("#tracking-number")).to_be_visible()
    shoot(page, "order.png")


def test_catalog_page(stack: Stack, delivered: dict[str, str], visitors: Visitors) -> None:
    page = log_in_manager(visitors.new(LAPTOP), stack.url)
    expect(page.locator("#catalog-products tbody tr")).to_have_count(12)
    shoot(page, "catalog.png")


def test_cancelled_and_refunded_order(stack: Stack, api: ShopApi, visitors: Visitors) -> None:
    customer = {"email": "hedy@example.com", "name": "Hedy Lamarr", "address": "5 Frequency Hop, Vienna"}
    placed = api.place_order({KETTLE: 1, FILTERS: 1}, customer=customer)
    api.wait_for_status(placed, "confirmed")
    with httpx.Client(base_url=stack.url) as http:
        headers = {"X-Order-Token": placed["token"]}
        assert http.post(f"/api/orders/{placed['order_id']}/cancel", headers=headers).status_code == 202
    eventually(
        lambda: api.order(placed["order_id"], placed["token"])["payment"]["status"] == "refunded",
        "the refund on the order",
    )
    page = visitors.new(LAPTOP).new_page()
    page.goto(stack.url + placed["tracking_url"])
    expect(page.locator("#order-status")).to_have_text("cancelled")
    expect(page.locator("#refunded")).to_be_visible()
    shoot(page, "order-cancelled.png")


def test_ops_console(stack: Stack, delivered: dict[str, str], visitors: Visitors) -> None:
    with stack.redis.client() as client:
        client.xadd("payments", {TYPE_FIELD: b"payment.confirmed", EVENT_FIELD: b'{"id": "truncated'})
    page = log_in_to_ops(visitors.new(LAPTOP), stack.url)
    expect(page.locator(".dead-letter")).to_have_count(1)
    expect(page.locator("#service-shipping")).to_be_visible()
    shoot(page, "ops.png")
