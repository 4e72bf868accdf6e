"""Live stock in real browsers: what a clerk or a checkout does shows on every open storefront.

Each page is tagged with ``window.__marker`` once loaded; a figure that changed while the
tag is still there changed through the page's socket, not through a reload.
"""

from __future__ import annotations

import re
import signal
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Route, WebSocket, expect

from tests.browser.conftest import Visitors
from tests.browser.shop import (
    CUSTOMER,
    LIVE,
    RECONNECTING,
    ShopApi,
    eventually,
    log_in_clerk,
    mark,
    marked,
    open_live,
    pump_until,
)
from tests.support.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.stack]

# Each test has its own product, so their figures never depend on one another.
MUG, DRIPPER, BEANS = 1, 4, 6


def test_dispatch_lowers_the_shelf_count_on_every_open_storefront(
    stack: Stack, api: ShopApi, visitors: Visitors
) -> None:
    before = api.product(MUG)
    on_hand, available = before["on_hand"], before["available"]
    shopper_a, shopper_b, clerk = visitors.new(), visitors.new(), visitors.new()
    shop_a, shop_b = open_live(shopper_a, stack.url), open_live(shopper_b, stack.url)
    console = log_in_clerk(clerk, stack.url)

    # Shopper A puts two mugs in the cart from the storefront (an htmx post: no reload)...
    card = shop_a.locator(f"#product-{MUG}")
    card.get_by_label("Qty").fill("2")
    card.get_by_role("button", name="Add to cart").click()
    expect(shop_a.locator("#cart-count")).to_have_text("2")
    # ...and checks out in a second tab through the real cart and checkout form.
    checkout = shopper_a.new_page()
    checkout.goto(f"{stack.url}/cart")
    checkout.get_by_label("Name", exact=True).fill(CUSTOMER["name"])
    checkout.get_by_label("Email").fill(CUSTOMER["email"])
    checkout.get_by_label("Address").fill(CUSTOMER["address"])
    checkout.get_by_label("Payment method").select_option("pm_card_visa")
    checkout.get_by_role("button", name="Place order").click()
    expect(checkout).to_have_url(re.compile(r"/orders/[0-9a-f-]+\?token="))
    tracking = urlsplit(checkout.url)
    order_id, token = tracking.path.rsplit("/", 1)[1], parse_qs(tracking.query)["token"][0]

    # The reservation lowers what is available on both storefronts; the shelf is untouched.
    for page in (shop_a, shop_b):
        expect(page.locator(f"#available-{MUG}")).to_have_text(str(available - 2))
        expect(page.locator(f"#stock-{MUG}")).to_have_text(str(on_hand))

    # The clerk's console shows the order, live, once it is confirmed.
    ready = console.locator(f"#ready-{order_id}")
    expect(ready).to_be_visible()
    api.wait_for_status({"order_id": order_id, "token": token}, "confirmed")
    expect(ready).to_contain_text("2 \N{MULTIPLICATION SIGN} Enamel camp mug")
    # Note whether the order ever shows among the recently dispatched (it may be delivered in a second).
    console.evaluate(
        """(id) => {
          window.__recent = false;
          const look = () => { window.__recent ||= !!document.getElementById(`recent-${id}`); };
          new MutationObserver(look).observe(document.body, {childList: true, subtree: true});
        }""",
        order_id,
    )
    ready.get_by_role("button", name="Dispatch").click()

    # Dispatch takes the mugs off the shelf: both storefronts show it without a reload.
    for page in (shop_a, shop_b):
        expect(page.locator(f"#stock-{MUG}")).to_have_text(str(on_hand - 2))
        expect(page.locator(f"#available-{MUG}")).to_have_text(str(available - 2))
        assert marked(page), "the storefront was reloaded"
    expect(console.locator(f"#ready-{order_id}")).to_have_count(0)
    expect(console.locator(f"#row-on-hand-{MUG}")).to_have_text(str(on_hand - 2))
    api.wait_for_stock(MUG, on_hand - 2, available - 2)

    # The console follows the order on: among the recent ones while on its way, gone once
    # delivered, as a reload of the console would show it.
    api.wait_for_status({"order_id": order_id, "token": token}, "delivered")
    expect(console.locator(f"#recent-{order_id}")).to_have_count(0)
    assert console.evaluate("window.__recent") is True
    assert marked(console), "the console was reloaded"


def test_a_change_between_render_and_socket_still_reaches_the_page(
    stack: Stack, api: ShopApi, visitors: Visitors
) -> None:
    on_hand = api.product(DRIPPER)["on_hand"]
    page = visitors.new().new_page()
    sockets: list[WebSocket] = []
    held: list[Route] = []

    def opened(socket: WebSocket) -> None:
        sockets.append(socket)

    def hold(route: Route) -> None:
        held.append(route)

    page.on("websocket", opened)
    # Hold back the htmx WebSocket extension: the page renders, but its socket cannot connect yet.
    page.route("**/static/htmx-ext-ws-*.js", hold)
    page.goto(stack.url, wait_until="commit")
    expect(page.locator(f"#stock-{DRIPPER}")).to_have_text(str(on_hand))
    mark(page)
    pump_until(page, lambda: held, "the page to ask for the WebSocket extension")

    # The clerk restocks after the page was rendered and before its socket exists.
    api.restock(DRIPPER, 5)
    api.wait_for_stock(DRIPPER, on_hand + 5)
    assert page.locator(f"#stock-{DRIPPER}").text_content() == str(on_hand)
    assert not sockets, "the socket connected before the extension was released"

    # Now the socket connects from the page's rendered position and replays what it missed.
    held[0].continue_()
    expect(page.locator("#live-state")).to_have_text(LIVE)
    expect(page.locator(f"#stock-{DRIPPER}")).to_have_text(str(on_hand + 5))
    expect(page.locator(f"#available-{DRIPPER}")).to_have_text(str(on_hand + 5))
    assert marked(page), "the storefront was reloaded"
    assert len(sockets) == 1


def test_a_page_catches_up_with_a_change_made_while_the_web_process_was_down(
    stack: Stack, api: ShopApi, visitors: Visitors
) -> None:
    """The change must land while the page has no socket at all, or the test proves nothing.

    So: pause the warehouse, ask for a restock (the gateway publishes the request), kill
    the web process (the page's socket drops), and only then let the warehouse go on. Its
    ``stock.changed`` is on the stream while no web process exists. The page reconnects to
    the restarted web process from its own cursor, and the replay brings the change.
    """
    on_hand = api.product(BEANS)["on_hand"]
    page = open_live(visitors.new(), stack.url)

    stack.signal("warehouse", signal.SIGSTOP)
    try:
        request_id = api.restock(BEANS, 7)
        eventually(
            lambda: any(e["data"].get("request_id") == request_id for e in api.stream_events("storefront")),
            "the restock request on the storefront stream",
        )
        stack.signal("web", signal.SIGKILL)
        expect(page.locator("#live-state")).to_have_text(RECONNECTING)
    finally:
        stack.signal("warehouse", signal.SIGCONT)

    def restocked() -> bool:
        return any(
            e["type"] == "stock.changed"
            and e["data"]["product_id"] == BEANS
            and e["data"]["cause"] == "restock"
            and e["data"]["on_hand"] == on_hand + 7
            for e in api.stream_events("stock")
        )

    try:
        eventually(restocked, "the warehouse's stock.changed for the restock")
        assert page.locator(f"#stock-{BEANS}").text_content() == str(on_hand)
    finally:
        stack.restart("web")  # the stack is shared: it goes on with a web process, whatever happened
    expect(page.locator("#live-state")).to_have_text(LIVE, timeout=40_000)
    expect(page.locator(f"#stock-{BEANS}")).to_have_text(str(on_hand + 7))
    assert marked(page), "the storefront was reloaded"

    # And the new socket is live, not just replayed.
    api.restock(BEANS, 1)
    expect(page.locator(f"#stock-{BEANS}")).to_have_text(str(on_hand + 8))
    assert marked(page)
