"""Only clerks see the warehouse console or dispatch: a shopper's browser is turned away."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Visitors
from tests.browser.shop import CLERK_USER, ShopApi
from tests.support.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.stack]

KETTLE = 2
TO_LOGIN = re.compile(r"/login\?next=(/|%2F)warehouse$")

# Opens a socket from the page and says whether the server let it open.
TRY_SOCKET = """(path) => new Promise((resolve) => {
  const socket = new WebSocket(`ws://${location.host}${path}`);
  socket.onopen = () => { socket.close(); resolve("open"); };
  socket.onclose = () => resolve("refused");
})"""


def test_a_visitor_is_sent_to_login_instead_of_the_console(stack: Stack, api: ShopApi, visitors: Visitors) -> None:
    page = visitors.new().new_page()
    page.goto(f"{stack.url}/warehouse")
    expect(page).to_have_url(TO_LOGIN)
    expect(page.get_by_role("heading", name="Clerk login")).to_be_visible()
    expect(page.get_by_role("button", name="Dispatch")).to_have_count(0)
    assert page.evaluate(TRY_SOCKET, "/live/console") == "refused"

    # A wrong password keeps the visitor out.
    page.locator('input[name="username"]').fill(CLERK_USER)
    page.locator('input[name="password"]').fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    page.goto(f"{stack.url}/warehouse")
    expect(page).to_have_url(TO_LOGIN)


def test_a_visitor_cannot_dispatch(stack: Stack, api: ShopApi, visitors: Visitors) -> None:
    placed = api.place_order({KETTLE: 1})
    api.wait_for_status(placed, "confirmed")
    order_id = placed["order_id"]
    page = visitors.new().new_page()
    page.goto(stack.url)
    # The visitor's own, valid CSRF token: what is missing is a clerk, nothing else.
    csrf = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    assert csrf

    form_post = page.request.post(f"{stack.url}/warehouse/orders/{order_id}/dispatch", form={"csrf_token": csrf})
    assert form_post.status in (401, 403), form_post.status
    api_post = page.request.post(f"{stack.url}/api/warehouse/orders/{order_id}/dispatch")
    assert api_post.status == 401, api_post.status
    listing = page.request.get(f"{stack.url}/api/warehouse/orders?status=confirmed")
    assert listing.status == 401, listing.status

    # Nothing was asked of the warehouse: no dispatch request for this order went out.
    requests = [e for e in api.stream_events("storefront") if e["type"] == "dispatch.requested"]
    assert not [e for e in requests if e["data"]["order_id"] == order_id]
    assert api.order(order_id, placed["token"])["status"] == "confirmed"
