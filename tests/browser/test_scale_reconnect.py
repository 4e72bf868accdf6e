"""A storefront behind the balancer outlives its web process: the socket moves to the other one, nothing lost.

The ``make scale`` layout (tests/support/scale_stack.py): two web processes behind HAProxy.
The page is made to load from web1 (web2 is down meanwhile); then, with web2 back and the
warehouse paused, a restock is asked for and web1 is ``kill -9``ed. The page reconnects
through the balancer, so to web2, from its own cursor, and shows the restock without a reload.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import WebSocket, expect

from tests.browser.conftest import STACK_ENV, Visitors
from tests.browser.shop import LIVE, ShopApi, eventually, marked, open_live, pump_until
from tests.support.scale_stack import ScaleStack
from tests.support.stack import START_TIMEOUT_S

pytestmark = [pytest.mark.browser, pytest.mark.stack]

BEANS = 6
WEB1, WEB2 = 0, 1  # replica indexes of the web processes (WEB_INSTANCE web1, web2)


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleStack]:
    stack = ScaleStack(tmp_path_factory.mktemp("scaled"), env={**STACK_ENV, "WS_MAX_PER_ADDRESS": "0"})
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def scaled_api(scaled: ScaleStack) -> ShopApi:
    shop = ShopApi(scaled)
    shop.wait_for_catalog()
    return shop


def served_by(stack: ScaleStack) -> str:
    try:
        return str(httpx.get(f"{stack.url}/healthz", timeout=2.0).headers.get("x-served-by", ""))
    except httpx.HTTPError:
        return ""


def only_served_by(stack: ScaleStack, name: str) -> bool:
    """Several answers in a row from ``name``: the balancer has taken the other out."""
    return all(served_by(stack) == name for _ in range(4))


def test_a_page_whose_web_process_dies_reconnects_to_the_other_and_misses_nothing(
    scaled: ScaleStack, scaled_api: ShopApi, visitors: Visitors
) -> None:
    on_hand = scaled_api.product(BEANS)["on_hand"]
    scaled.signal("web", signal.SIGKILL, replica=WEB2)
    eventually(lambda: only_served_by(scaled, "web1"), "the balancer sending everything to web1")
    context = visitors.new()
    sockets: list[WebSocket] = []

    def opened(socket: WebSocket) -> None:
        sockets.append(socket)

    context.on("page", lambda page: page.on("websocket", opened))
    page = open_live(context, scaled.url)
    scaled.start_process("web", WEB2)
    eventually(
        lambda: any(served_by(scaled) == "web2" for _ in range(4)),
        "web2 back behind the balancer",
        timeout=START_TIMEOUT_S,  # a web process starting, on a machine loaded by other stacks
    )

    for replica in range(len(scaled.processes["warehouse"])):
        scaled.signal("warehouse", signal.SIGSTOP, replica=replica)
    try:
        scaled_api.restock(BEANS, 7)
        scaled.signal("web", signal.SIGKILL, replica=WEB1)
    finally:
        for replica in range(len(scaled.processes["warehouse"])):
            scaled.signal("warehouse", signal.SIGCONT, replica=replica)

    pump_until(page, lambda: len(sockets) >= 2, "the page opening a new socket")
    expect(page.locator(f"#stock-{BEANS}")).to_have_text(str(on_hand + 7))
    expect(page.locator("#live-state")).to_have_text(LIVE)
    assert marked(page), "the page reloaded instead of catching up through its socket"
    assert only_served_by(scaled, "web2")
    scaled.start_process("web", WEB1)
