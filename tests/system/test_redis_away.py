"""Redis away for a while: checkouts keep being accepted, the shop keeps serving, and every order flows later.

"A while" is until twenty checkouts were answered with Redis down: a few seconds, long
enough for the workers' reconnect backoff to reach its two-second cap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest

from tests.support.waiting import wait_until
from tests.system.conftest import StackFactory
from tests.system.shop_client import PlacedOrder, ShopClient, order_body

pytestmark = pytest.mark.stack

AWAY_CHECKOUTS = 20
FILTERS = 5  # the demo catalog's paper filters, restocked to more than this test can buy


def test_checkouts_and_the_shop_keep_working_while_redis_is_away(start_stack: StackFactory) -> None:
    stack = start_stack()
    with ShopClient(stack.url) as clerk:
        clerk.login()
        clerk.restock(FILTERS, 5000)
        clerk.wait_for_product(FILTERS, on_hand=5120)
    phase = "before"
    answers: list[tuple[str, str, int]] = []  # (phase, what, status); "edge" when the phase changed meanwhile
    placed: list[PlacedOrder] = []
    done = threading.Event()

    def ask(what: str, request: Callable[[], httpx.Response]) -> httpx.Response:
        before = phase
        response = request()
        answers.append((before if phase == before else "edge", what, response.status_code))
        return response

    def shop_steadily() -> None:
        with ShopClient(stack.url) as shopper:
            while not done.is_set():
                response = ask("checkout", lambda: shopper.submit(order_body([(FILTERS, 1)])))
                if response.status_code == 202:
                    placed.append(shopper.placed(response))
                ask("page", lambda: shopper.http.get("/"))
                ask("healthz", lambda: shopper.http.get("/healthz"))
                time.sleep(0.1)

    shopper = threading.Thread(target=shop_steadily)
    shopper.start()

    def seen(when: str, what: str, status: int | None = None) -> int:
        return sum(1 for answer in list(answers) if answer[:2] == (when, what) and status in (None, answer[2]))

    def within(when: str) -> Callable[[], str]:
        return lambda: f"the shopper's answers {when}: {answers}"

    try:
        wait_until(lambda: seen("before", "healthz", 200), timeout=30.0, message=within("before"))
        stack.redis.stop()
        phase = "away"
        wait_until(
            lambda: seen("away", "checkout") >= AWAY_CHECKOUTS and seen("away", "healthz") >= 1,
            timeout=60.0,
            message=within("while Redis was away"),
        )
        phase = "back"
        stack.redis.start()
        wait_until(lambda: seen("back", "healthz", 200), timeout=30.0, message=within("once Redis was back"))
    finally:
        done.set()
        shopper.join()

    away = [(what, status) for when, what, status in answers if when == "away"]
    assert {status for what, status in away if what == "checkout"} == {202}, answers
    assert {status for what, status in away if what == "page"} == {200}, answers
    assert {status for what, status in away if what == "healthz"} == {503}, answers
    assert sum(1 for what, _status in away if what == "checkout") >= AWAY_CHECKOUTS, answers
    assert not [answer for answer in answers if answer[2] >= 500 and answer[1] != "healthz"], answers
    stack.wait_healthy()
    with ShopClient(stack.url) as shop:
        for order in placed:
            assert shop.wait_for_status(order, "confirmed", timeout=60.0)["status"] == "confirmed"
