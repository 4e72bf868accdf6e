"""Running the shop, end to end against the Procfile's processes: catalog, cancellation, refunds, staff search.

All tests share one stack; each makes its own products through the manager's API, so
their stock figures are theirs alone.
"""

from __future__ import annotations

import signal
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import pytest

from tests.support.stack import Stack
from tests.support.waiting import wait_until
from tests.system.observe import emails_of, wait_for_emails
from tests.system.shop_client import Json, PlacedOrder, ShopClient, expect, statuses
from workers.contracts import REGISTRY
from workers.contracts.storefront import CancelRequested, DispatchRequested
from workers.eventing import Envelope

pytestmark = pytest.mark.stack

DEV_MANAGER = ("manager", "manager-dev-password")
LEFT_THE_SHELF = ("dispatched", "shipped", "delivered")


def manager_headers(shop: ShopClient) -> dict[str, str]:
    answer = expect(shop.http.post("/api/login", json={"username": DEV_MANAGER[0], "password": DEV_MANAGER[1]}), 200)
    return {"Authorization": f"Bearer {answer['token']}"}


def create_product(shop: ShopClient, *, price_cents: int = 1000, opening_stock: int = 20, **fields: Any) -> Json:
    """A new product through the manager's API, once the storefront lists it with its opening stock."""
    body = {
        "sku": f"SYS-{uuid.uuid4().hex[:10].upper()}",
        "name": "System test kettle",
        "description": "Made by a test.",
        "price_cents": price_cents,
        "opening_stock": opening_stock,
        **fields,
    }
    answer = expect(shop.http.post("/api/catalog/products", json=body, headers=manager_headers(shop)), 202)
    product: Json = wait(
        partial(listed, shop, answer["product_id"], on_hand=opening_stock, available=opening_stock),
        f"product {answer['product_id']} in the listing with its opening stock",
    )
    return product


def change_product(shop: ShopClient, product_id: int, **changes: Any) -> None:
    path = f"/api/catalog/products/{product_id}"
    expect(shop.http.patch(path, json=changes, headers=manager_headers(shop)), 202)


def cancel(shop: ShopClient, placed: PlacedOrder) -> httpx.Response:
    return shop.http.post(f"/api/orders/{placed.order_id}/cancel", headers={"X-Order-Token": placed.token})


def listed(shop: ShopClient, product_id: int, present: bool = True, **fields: Any) -> Json | None:
    products = expect(shop.http.get("/api/products"), 200)["products"]
    found = next((p for p in products if p["id"] == product_id), None)
    if not present:
        return {"absent": product_id} if found is None else None
    return found if found is not None and all(found[k] == v for k, v in fields.items()) else None


def wait(probe: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    return wait_until(probe, timeout, f"waiting for {what}", interval=0.05)


# -- catalog ------------------------------------------------------------------------------


def test_a_managers_new_product_is_stocked_and_sold(shop: ShopClient) -> None:
    product = create_product(shop, price_cents=2345, opening_stock=6)

    placed = shop.checkout([(product["id"], 2)])

    confirmed = shop.wait_for_status(placed, "confirmed")
    assert confirmed["total_cents"] == 2 * 2345
    shop.wait_for_product(product["id"], on_hand=6, available=4)


def test_a_sku_already_in_the_catalog_is_refused_naming_the_field(shop: ShopClient) -> None:
    product = create_product(shop)
    body = {"sku": product["sku"], "name": "Twin", "description": "", "price_cents": 100, "opening_stock": 1}

    response = shop.http.post("/api/catalog/products", json=body, headers=manager_headers(shop))

    assert response.status_code == 422
    assert "sku" in response.json()["error"]["fields"]


def test_checkouts_during_a_price_change_charge_the_price_of_their_moment(shop: ShopClient) -> None:
    product = create_product(shop, price_cents=1000, opening_stock=200)
    start = threading.Barrier(9)

    def buy() -> PlacedOrder:
        start.wait()
        return shop.checkout([(product["id"], 1)])

    def reprice() -> None:
        start.wait()
        change_product(shop, product["id"], price_cents=1500)

    with ThreadPoolExecutor(9) as pool:
        racing = [pool.submit(buy) for _ in range(8)]
        pool.submit(reprice).result()
        placed = [f.result() for f in racing]
    wait(lambda: listed(shop, product["id"], price_cents=1500), "the new price in the listing")
    after = shop.checkout([(product["id"], 1)])

    for order in [shop.order(p) for p in placed]:
        [line] = order["lines"]
        assert line["unit_price_cents"] in (1000, 1500)
        assert order["total_cents"] == line["line_total_cents"] == line["unit_price_cents"]
    assert shop.order(after)["lines"][0]["unit_price_cents"] == 1500


def test_an_archived_product_cannot_be_ordered_until_it_is_brought_back(shop: ShopClient) -> None:
    product = create_product(shop)
    earlier = shop.checkout([(product["id"], 1)])

    change_product(shop, product["id"], archived=True)
    wait(lambda: listed(shop, product["id"], present=False), "the archived product to leave the listing")
    refused = shop.submit({**_body(), "items": [{"product_id": product["id"], "quantity": 1}]})
    assert refused.status_code == 422
    assert shop.order(earlier)["lines"][0]["product_id"] == product["id"]

    change_product(shop, product["id"], archived=False)
    wait(lambda: listed(shop, product["id"]), "the product back in the listing")
    assert shop.checkout([(product["id"], 1)]).status == "pending"


def _body() -> Json:
    return {"email": "ada@example.com", "name": "Ada", "address": "1 Row", "payment_method": "pm_card_visa"}


# -- cancellation and refunds ----------------------------------------------------------


def test_a_shopper_cancels_a_confirmed_order_and_is_refunded(stack: Stack, shop: ShopClient) -> None:
    product = create_product(shop, opening_stock=5)
    placed = shop.checkout([(product["id"], 2)])
    shop.wait_for_status(placed, "confirmed")
    shop.wait_for_product(product["id"], on_hand=5, available=3)

    assert cancel(shop, placed).status_code == 202

    def refunded() -> Json | None:
        order = shop.order(placed)
        return order if order["payment"]["status"] == "refunded" else None

    order = wait(refunded, "the refund on the order")
    assert statuses(order) == ["pending", "confirmed", "cancelled"]
    assert order["cancel_reason"] == "cancelled by the customer"
    assert order["payment"]["refunded_cents"] == order["payment"]["amount_cents"] == order["total_cents"]
    shop.wait_for_product(product["id"], on_hand=5, available=5)
    again = cancel(shop, placed)
    assert again.status_code == 409
    assert again.json()["error"]["message"]
    mails = wait_for_emails(stack.data_dir, placed.order_id, ["pending", "confirmed", "cancelled", "refunded"])
    assert "refunded" in str(mails["refunded"]["Subject"])
    assert "you asked us to cancel it" in mails["cancelled"].get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_a_dispatched_order_cannot_be_cancelled(shop: ShopClient) -> None:
    product = create_product(shop)
    placed = shop.checkout([(product["id"], 1)])
    shop.wait_for_status(placed, "confirmed")
    shop.login()
    shop.dispatch(placed.order_id)
    shop.wait_for_status(placed, *LEFT_THE_SHELF)

    response = cancel(shop, placed)

    assert response.status_code == 409
    assert "no longer be cancelled" in response.json()["error"]["message"]


def _outcome(shop: ShopClient, placed: PlacedOrder) -> Json | None:
    """The order once it has settled on one side: cancelled and refunded, or gone from the shelf."""
    order = shop.order(placed)
    if order["status"] == "cancelled" and order["payment"]["status"] == "refunded":
        return order
    return order if order["status"] in LEFT_THE_SHELF else None


def _inject(client: Any, data: CancelRequested | DispatchRequested, order_id: str) -> None:
    """A request on the storefront stream as the gateway's relay puts it, bypassing the gateway's own check."""
    envelope = Envelope.wrap(
        data, source="gateway", aggregate_id=order_id, aggregate_version=1, correlation_id=order_id
    )
    client.xadd("storefront", dict(REGISTRY.encode(envelope)))


def test_a_dispatch_racing_a_cancel_has_one_winner_in_every_service(
    stack: Stack, shop: ShopClient, request: pytest.FixtureRequest
) -> None:
    # A second orders replica: two requests of one order can be handled at the same moment.
    # The stack is shared by other modules: the replica goes when the test does.
    stack.start_process("orders")
    extra = len(stack.processes["orders"]) - 1
    request.addfinalizer(lambda: stack.signal("orders", signal.SIGTERM, replica=extra))
    product = create_product(shop, opening_stock=40)
    shop.login()
    placed = [shop.checkout([(product["id"], 1)]) for _ in range(16)]
    for order in placed:
        shop.wait_for_status(order, "confirmed")
    through_gateway, past_gateway = placed[:8], placed[8:]
    client = stack.redis.client()

    def race(order: PlacedOrder, direct: bool) -> tuple[int, int]:
        start = threading.Barrier(2)

        def dispatch() -> int:
            start.wait()
            if direct:
                _inject(
                    client,
                    DispatchRequested(order_id=order.order_id, clerk="clerk", requested_at=datetime.now(UTC)),
                    order.order_id,
                )
                return 202
            headers = {"Authorization": f"Bearer {shop.clerk_token}"}
            return shop.http.post(f"/api/warehouse/orders/{order.order_id}/dispatch", headers=headers).status_code

        def cancelling() -> int:
            start.wait()
            if direct:
                _inject(
                    client, CancelRequested(order_id=order.order_id, requested_at=datetime.now(UTC)), order.order_id
                )
                return 202
            return cancel(shop, order).status_code

        with ThreadPoolExecutor(2) as pool:
            dispatched, cancelled = pool.submit(dispatch), pool.submit(cancelling)
            return dispatched.result(), cancelled.result()

    answers = {o.order_id: race(o, direct=False) for o in through_gateway}
    for order in past_gateway:
        race(order, direct=True)
    outcomes: dict[str, Json] = {}
    for order in placed:
        outcomes[order.order_id] = wait(partial(_outcome, shop, order), f"order {order.order_id} to settle")

    for order_id, (dispatch_status, cancel_status) in answers.items():
        # The gateway lets exactly one request through, and that one wins.
        assert sorted((dispatch_status, cancel_status)) == [202, 409]
        winner = "dispatch" if dispatch_status == 202 else "cancel"
        assert (outcomes[order_id]["status"] in LEFT_THE_SHELF) == (winner == "dispatch")
    for outcome in outcomes.values():
        history = statuses(outcome)
        assert ("cancelled" in history) != ("dispatched" in history), history
        if outcome["status"] == "cancelled":
            assert outcome["payment"]["refunded_cents"] == outcome["total_cents"]
        else:
            assert (outcome["payment"]["status"], outcome["payment"]["refunded_cents"]) == ("confirmed", 0)
    taken = sum(1 for outcome in outcomes.values() if outcome["status"] in LEFT_THE_SHELF)
    # The warehouse's view: only the winners' goods left, every loser's reservation came back.
    shop.wait_for_product(product["id"], on_hand=40 - taken, available=40 - taken)
    for order in placed:
        mails = wait_for_emails(stack.data_dir, order.order_id, ["confirmed"])
        if outcomes[order.order_id]["status"] == "cancelled":
            mails = wait_for_emails(stack.data_dir, order.order_id, ["cancelled", "refunded"])
            assert "dispatched" not in mails
        else:
            assert "cancelled" not in emails_of(stack.data_dir, order.order_id)


# -- staff search --------------------------------------------------------------------------


def test_staff_find_orders_by_email_and_status_a_page_at_a_time(shop: ShopClient) -> None:
    product = create_product(shop)
    email = f"finder-{uuid.uuid4().hex[:8]}@example.com"
    placed = [shop.checkout([(product["id"], 1)], email=email) for _ in range(3)]
    for order in placed:
        shop.wait_for_status(order, "confirmed")
    shop.login()
    headers = {"Authorization": f"Bearer {shop.clerk_token}"}

    first = expect(
        shop.http.get("/api/warehouse/orders", params={"status": "confirmed", "q": email, "limit": 2}, headers=headers),
        200,
    )
    second = expect(
        shop.http.get(
            "/api/warehouse/orders",
            params={"status": "confirmed", "q": email, "cursor": first["next_cursor"]},
            headers=headers,
        ),
        200,
    )

    pages = first["orders"] + second["orders"]
    found = [o["order_id"] for o in pages]
    assert sorted(found) == sorted(p.order_id for p in placed)  # all three, none twice
    # Newest first by when the orders service placed each; under load that need not be the order of the checkouts.
    keys = [(datetime.fromisoformat(o["placed_at"]), o["order_id"]) for o in pages]
    assert keys == sorted(keys, reverse=True)
    assert second["next_cursor"] is None
    by_prefix = expect(
        shop.http.get("/api/warehouse/orders", params={"status": "", "q": placed[0].order_id[:30]}, headers=headers),
        200,
    )
    assert placed[0].order_id in [o["order_id"] for o in by_prefix["orders"]]
