"""A storefront whose cursor was trimmed off the stock stream resyncs in place, cart and all.

With a cart filled, the page renders, then its socket is held back (the WebSocket extension is not served
yet) while two restocks land and the stream is trimmed past the first of them. When
the socket connects from the page's old cursor, a replay would miss that restock; the
resync brings both products' figures from the read model instead, without a reload,
and the page goes on live from there.
"""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from playwright.sync_api import Route, expect

from tests.browser.conftest import Visitors
from tests.browser.shop import LIVE, ShopApi, eventually, mark, marked, open_live, pump_until
from tests.support.stack import Stack
from workers.eventing.registry import EVENT_FIELD

pytestmark = [pytest.mark.browser, pytest.mark.stack]

KETTLE, GRINDER, FILTERS = 2, 3, 5


def restock_entry(stack: Stack, product_id: int, on_hand: int) -> str:
    """The id of the warehouse's ``stock.changed`` that brought ``product_id`` to ``on_hand``."""
    client = stack.redis.client()
    try:
        entries = cast(list[Any], client.xrange("stock"))
        for entry_id, fields in reversed(entries):
            event = json.loads(fields[EVENT_FIELD])
            if event["data"]["product_id"] == product_id and event["data"]["on_hand"] == on_hand:
                return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    finally:
        client.close()
    raise AssertionError(f"no stock.changed bringing product {product_id} to {on_hand}")


def trim_stock_before(stack: Stack, entry_id: str) -> None:
    client = stack.redis.client()
    try:
        client.xtrim("stock", minid=entry_id, approximate=False)
    finally:
        client.close()


def test_a_storefront_whose_cursor_was_trimmed_away_shows_fresh_figures_and_keeps_its_cart(
    stack: Stack, api: ShopApi, visitors: Visitors
) -> None:
    kettles, grinders = api.product(KETTLE)["on_hand"], api.product(GRINDER)["on_hand"]
    shopper = visitors.new()
    # The shopper fills a cart first (the cart is the browser's, in a cookie).
    shop = open_live(shopper, stack.url)
    card = shop.locator(f"#product-{FILTERS}")
    card.get_by_label("Qty").fill("2")
    card.get_by_role("button", name="Add to cart").click()
    expect(shop.locator("#cart-count")).to_have_text("2")
    shop.close()

    page = shopper.new_page()
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route("**/static/htmx-ext-ws-*.js", hold)
    page.goto(stack.url, wait_until="commit")
    expect(page.locator(f"#stock-{KETTLE}")).to_have_text(str(kettles))
    mark(page)
    pump_until(page, lambda: held, "the page to ask for the WebSocket extension")

    # The page is rendered (its socket not yet open); the shopper starts typing a quantity.
    expect(page.locator("#cart-count")).to_have_text("2")
    page.locator(f"#product-{KETTLE}").get_by_label("Qty").fill("3")

    # Meanwhile two restocks land, and trimming takes the first off the stream.
    api.restock(KETTLE, 4)
    api.wait_for_stock(KETTLE, kettles + 4)
    api.restock(GRINDER, 6)
    api.wait_for_stock(GRINDER, grinders + 6)
    trim_stock_before(stack, restock_entry(stack, GRINDER, grinders + 6))
    eventually(lambda: page.locator(f"#stock-{KETTLE}").text_content() == str(kettles), "the page to be stale")

    held[0].continue_()
    expect(page.locator("#live-state")).to_have_text(LIVE)

    expect(page.locator(f"#stock-{KETTLE}")).to_have_text(str(kettles + 4))  # only the resync has it
    expect(page.locator(f"#stock-{GRINDER}")).to_have_text(str(grinders + 6))
    expect(page.locator("#cart-count")).to_have_text("2")
    expect(page.locator(f"#product-{KETTLE}").get_by_label("Qty")).to_have_value("3")
    assert marked(page), "the storefront was reloaded"

    # And it goes on live from the position the fresh figures reflect.
    api.restock(KETTLE, 1)
    expect(page.locator(f"#stock-{KETTLE}")).to_have_text(str(kettles + 5))
    assert marked(page)
