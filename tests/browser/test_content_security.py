"""The pages work under their Content-Security-Policy: htmx, its WebSocket extension and live.js load
from /static/, the sockets connect, htmx posts carry their CSRF header, and the browser reports no violation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect

from tests.browser.conftest import Visitors
from tests.browser.shop import CUSTOMER, LIVE, ShopApi, log_in_clerk
from tests.support.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.stack]

KETTLE = 2
# Installed by Playwright before any page script (and not subject to the page's policy).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def watched(context: BrowserContext, problems: list[str]) -> BrowserContext:
    """Record every CSP violation and script error the context's pages report."""
    context.add_init_script(RECORD_VIOLATIONS)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            problems.append(message.text)

    context.on("console", on_console)
    context.on("weberror", lambda error: problems.append(str(error.error)))
    return context


def violations(page: Page) -> list[str]:
    found: list[str] = page.evaluate("window.__violations")
    return found


def test_shopping_under_the_policy_reports_no_violation(stack: Stack, api: ShopApi, visitors: Visitors) -> None:
    problems: list[str] = []
    shopper = watched(visitors.new(), problems)
    shop = shopper.new_page()

    shop.goto(stack.url)
    expect(shop.locator("#live-state")).to_have_text(LIVE)  # htmx and the ws extension ran, the socket is open
    card = shop.locator(f"#product-{KETTLE}")
    card.get_by_role("button", name="Add to cart").click()  # an htmx post, with its X-CSRF-Token header
    expect(shop.locator("#cart-count")).to_have_text("1")
    shop.goto(f"{stack.url}/cart")
    shop.get_by_label("Name", exact=True).fill(CUSTOMER["name"])
    shop.get_by_label("Email").fill(CUSTOMER["email"])
    shop.get_by_label("Address").fill(CUSTOMER["address"])
    shop.get_by_role("button", name="Place order").click()
    expect(shop).to_have_url(re.compile(r"/orders/[0-9a-f-]+\?token="))
    expect(shop.locator("#live-state")).to_have_text(LIVE)

    assert violations(shop) == []
    assert problems == []


def test_the_clerks_console_under_the_policy_reports_no_violation(stack: Stack, visitors: Visitors) -> None:
    problems: list[str] = []
    console = log_in_clerk(watched(visitors.new(), problems), stack.url)

    assert violations(console) == []
    assert problems == []
