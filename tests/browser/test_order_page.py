"""The order page follows its order live: every status change arrives over the page's socket.

To see a step arrive live, the page must be open before it happens: the payments worker
is paused (SIGSTOP) while the order is placed and the page opened, then resumed.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Visitors
from tests.browser.shop import ShopApi, marked, open_live
from tests.support.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.stack]

FILTERS, SENCHA = 5, 10

# Records each status the page shows, in order, as the DOM changes (the carrier's steps
# are a second apart, shorter than the slowest polling interval of an assertion).
RECORD_STATUSES = """() => {
  window.__seen = [];
  const record = () => {
    const el = document.getElementById("order-status");
    const status = el && el.textContent.trim();
    if (status && window.__seen[window.__seen.length - 1] !== status) window.__seen.push(status);
  };
  record();
  new MutationObserver(record).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


@contextmanager
def paused(stack: Stack, name: str) -> Iterator[None]:
    stack.signal(name, signal.SIGSTOP)
    try:
        yield
    finally:
        stack.signal(name, signal.SIGCONT)


def seen(page: Page) -> list[str]:
    return [str(status) for status in page.evaluate("window.__seen")]


def test_the_timeline_advances_live_to_delivered(stack: Stack, api: ShopApi, visitors: Visitors) -> None:
    with paused(stack, "payments"):
        placed = api.place_order({FILTERS: 2})
        page = open_live(visitors.new(), stack.url + placed["tracking_url"])
        page.evaluate(RECORD_STATUSES)
        expect(page.locator("#order-status")).to_have_text("pending")

    expect(page.locator("#order-status")).to_have_text("confirmed")
    api.dispatch(placed["order_id"])
    expect(page.locator("#order-status")).to_have_text("delivered")

    assert seen(page) == ["pending", "confirmed", "dispatched", "shipped", "delivered"]
    for step in ("pending", "confirmed", "dispatched", "shipped", "delivered"):
        expect(page.locator(f'.timeline li[data-status="{step}"]')).to_have_class("done")
    order = api.wait_for_status(placed, "delivered")
    expect(page.locator("#tracking-number")).to_have_text(order["tracking_number"])
    assert marked(page), "the order page was reloaded"


def test_a_declined_payment_shows_cancelled_live_with_its_reason(
    stack: Stack, api: ShopApi, visitors: Visitors
) -> None:
    with paused(stack, "payments"):
        placed = api.place_order({SENCHA: 1}, payment_method="pm_card_declined")
        page = open_live(visitors.new(), stack.url + placed["tracking_url"])
        page.evaluate(RECORD_STATUSES)
        expect(page.locator("#order-status")).to_have_text("pending")

    expect(page.locator("#order-status")).to_have_text("cancelled")
    order = api.wait_for_status(placed, "cancelled")
    assert order["cancel_reason"]
    expect(page.locator("#cancel-reason")).to_have_text(f"({order['cancel_reason']})")
    expect(page.locator(".timeline li")).to_have_count(2)
    expect(page.locator('.timeline li[data-status="cancelled"]')).to_have_class("done")
    assert seen(page) == ["pending", "cancelled"]
    assert marked(page), "the order page was reloaded"
