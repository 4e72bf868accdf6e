"""The merchant's changes in real browsers: new products and prices reach every open storefront live,
and a shopper's cancel leaves the clerk's console live.

Pages are tagged with ``window.__marker`` once loaded: a change seen while the tag is still
there came through the page's socket, not through a reload.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import Visitors
from tests.browser.shop import CUSTOMER, LIVE, ShopApi, log_in_clerk, mark, marked, open_live
from tests.support.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.stack]

MANAGER_USER, MANAGER_PASSWORD = "manager", "manager-dev-password"
KETTLE = 2


def log_in_manager(context: BrowserContext, base_url: str) -> Page:
    """The manager logs in through ``/login`` and opens the catalog page."""
    page = context.new_page()
    page.goto(f"{base_url}/login?next=/manage/products")
    page.locator('input[name="username"]').fill(MANAGER_USER)
    page.locator('input[name="password"]').fill(MANAGER_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base_url}/manage/products")
    return page


def test_a_new_product_and_a_price_change_appear_live_on_two_open_storefronts(
    stack: Stack, api: ShopApi, visitors: Visitors
) -> None:
    shopper_a, shopper_b = visitors.new(), visitors.new()
    shop_a, shop_b = open_live(shopper_a, stack.url), open_live(shopper_b, stack.url)
    # Shopper A has a kettle in the cart at today's price.
    shop_a.locator(f"#product-{KETTLE}").get_by_role("button", name="Add to cart").click()
    expect(shop_a.locator("#cart-count")).to_have_text("1")
    manager = log_in_manager(visitors.new(), stack.url)

    sku = f"TRAY-{uuid.uuid4().hex[:6].upper()}"
    form = manager.locator("#new-product")
    form.get_by_label("SKU").fill(sku)
    form.get_by_label("Name").fill("Bamboo serving tray")
    form.get_by_label("Description").fill("Holds a pot and two cups.")
    form.get_by_label("Price (€)").fill("18.50")
    form.get_by_label("Opening stock").fill("9")
    manager.get_by_role("button", name="Create product").click()
    flash = manager.locator("#manage-flash")
    expect(flash).to_contain_text(sku)
    product_id = int(re.findall(r"Product (\d+)", flash.inner_text())[0])

    for page in (shop_a, shop_b):
        card = page.locator(f"#product-{product_id}")
        expect(card).to_be_visible()
        expect(card.locator("h2")).to_have_text("Bamboo serving tray")
        expect(page.locator(f"#price-{product_id}")).to_have_text("€18.50")
        expect(page.locator(f"#stock-{product_id}")).to_have_text("9")

    manager.reload()
    manager.locator(f"#edit-price-{KETTLE}").fill("52.00")
    manager.locator(f"#save-{KETTLE}").click()
    for page in (shop_a, shop_b):
        expect(page.locator(f"#price-{KETTLE}")).to_have_text("€52.00")

    manager.locator(f"#archive-{product_id}").click()
    for page in (shop_a, shop_b):
        expect(page.locator(f"#product-{product_id}")).to_be_hidden()
        assert marked(page), "the storefront reloaded instead of changing live"

    # The cart tells shopper A the kettle costs more now, before checkout.
    cart = shopper_a.new_page()
    cart.goto(f"{stack.url}/cart")
    expect(cart.locator(f"#price-notice-{KETTLE}")).to_contain_text("€52.00")
    expect(cart.locator(f"#cart-price-{KETTLE}")).to_have_text("€52.00")


def test_a_shopper_cancels_from_the_order_page_and_the_console_drops_the_order_live(
    stack: Stack, api: ShopApi, visitors: Visitors
) -> None:
    placed = api.place_order({4: 1}, customer={**CUSTOMER, "name": "Grace Hopper"})
    api.wait_for_status(placed, "confirmed")
    console = log_in_clerk(visitors.new(), stack.url)
    ready = console.locator(f"#ready-{placed['order_id']}")
    expect(ready).to_be_visible()

    tracking = visitors.new().new_page()
    tracking.goto(f"{stack.url}{placed['tracking_url']}")
    expect(tracking.locator("#live-state")).to_have_text(LIVE)
    mark(tracking)
    expect(tracking.locator("#payment-status")).to_have_text("confirmed")
    tracking.get_by_role("button", name="Cancel order").click()

    expect(tracking.locator("#order-status")).to_have_text("cancelled")
    expect(tracking.locator("#payment-status")).to_have_text("refunded")
    expect(tracking.locator("#refunded")).to_contain_text("refunded to your card")
    expect(tracking.get_by_role("button", name="Cancel order")).to_have_count(0)
    expect(ready).to_have_count(0)
    assert marked(tracking) and marked(console), "a page reloaded instead of changing live"
