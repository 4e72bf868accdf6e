"""The order workflow end to end, against the real processes of the Procfile, through the JSON API.

All tests here share one stack; each uses its own orders and its own products
(demo catalog: 1 mug x40, 2 kettle x12, 3 grinder x3, 4 dripper x25, 6 beans x30,
7 beans x2, 8 scale x8, 9 teapot x5, 10 tea x18, 12 carafe x0), so they may run in any order.
"""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.stack import Stack
from tests.support.waiting import wait_until
from tests.system.observe import event_ids, message_id, wait_for_emails
from tests.system.shop_client import PlacedOrder, ShopClient, order_body, statuses

pytestmark = pytest.mark.stack

FULL_PATH = ["pending", "confirmed", "dispatched", "shipped", "delivered"]


def test_a_paid_order_walks_from_checkout_to_the_door(stack: Stack, shop: ShopClient) -> None:
    mug = shop.product(1)
    placed = shop.checkout([(1, 2)], email=(email := f"walk-{uuid.uuid4().hex[:8]}@example.com"))
    assert placed.status == "pending"
    assert shop.http.get(placed.tracking_url).status_code == 200

    confirmed = shop.wait_for_status(placed, "confirmed")
    assert confirmed["total_cents"] == 2 * mug["price_cents"]
    # Reserved at checkout: no longer available, still on the shelf.
    shop.wait_for_product(1, available=mug["available"] - 2, on_hand=mug["on_hand"])

    shop.login()
    assert placed.order_id in shop.warehouse_orders("confirmed")
    shop.dispatch(placed.order_id)

    delivered = shop.wait_for_status(placed, "delivered")
    assert statuses(delivered) == FULL_PATH
    assert delivered["tracking_number"]
    shop.wait_for_product(1, available=mug["available"] - 2, on_hand=mug["on_hand"] - 2)

    mails = wait_for_emails(stack.data_dir, placed.order_id, FULL_PATH)
    assert sorted(mails) == sorted(FULL_PATH)
    for status, mail in mails.items():
        assert mail["Message-ID"] == message_id(placed.order_id, status)
        assert email in mail["To"]


@pytest.mark.parametrize(
    ("product_id", "payment_method", "reason"),
    [
        (2, "pm_card_declined", "payment declined: card_declined"),
        (4, "pm_card_insufficient_funds", "payment declined: insufficient_funds"),
    ],
    ids=["declined", "insufficient-funds"],
)
def test_a_declined_payment_cancels_the_order_and_puts_the_stock_back(
    stack: Stack, shop: ShopClient, product_id: int, payment_method: str, reason: str
) -> None:
    before, position = shop.product(product_id), shop.stock_position()
    placed = shop.checkout([(product_id, 1)], payment_method)

    cancelled = shop.wait_for_status(placed, "cancelled", "confirmed")
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancel_reason"] == reason
    assert statuses(cancelled) == ["pending", "cancelled"]
    # The warehouse may reserve after the order is cancelled already: wait for the release itself.
    changes = shop.stock_changes(position, lambda seen: "release" in causes(seen, product_id))
    assert causes(changes, product_id) == ["reserve", "release"]
    shop.wait_for_product(product_id, available=before["available"], on_hand=before["on_hand"])

    mails = wait_for_emails(stack.data_dir, placed.order_id, ["pending", "cancelled"])
    assert sorted(mails) == ["cancelled", "pending"]
    assert mails["cancelled"]["Message-ID"] == message_id(placed.order_id, "cancelled")


def causes(changes: list[dict[str, Any]], product_id: int) -> list[str]:
    """The causes of a product's stock changes, oldest first."""
    return [change["cause"] for change in changes if change["product_id"] == product_id]


def test_an_order_for_goods_out_of_stock_is_cancelled_and_its_payment_refunded(stack: Stack, shop: ShopClient) -> None:
    carafe = shop.product(12)
    assert carafe["available"] == 0
    placed = shop.checkout([(12, 1)])

    cancelled = shop.wait_for_status(placed, "cancelled", "confirmed")
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancel_reason"].startswith("out of stock")
    assert carafe["sku"] in cancelled["cancel_reason"]
    with stack.redis.client() as client:
        wait_until(
            lambda: event_ids(client, "payments", "payment.refunded", placed.order_id),
            message="the payment was never refunded",
        )
        assert len(set(event_ids(client, "payments", "payment.confirmed", placed.order_id))) == 1
    assert shop.product(12)["on_hand"] == carafe["on_hand"]
    assert shop.product(12)["available"] == 0


def test_a_cart_with_one_line_out_of_stock_reserves_none_of_its_lines(shop: ShopClient) -> None:
    grinders = shop.product(3)["available"]
    assert grinders > 0
    placed = shop.checkout([(3, grinders), (12, 1)])

    cancelled = shop.wait_for_status(placed, "cancelled", "confirmed")
    assert cancelled["status"] == "cancelled"
    # Had the first line been reserved, a cart of every grinder left could not be filled.
    every_grinder = shop.checkout([(3, grinders)])
    assert shop.wait_for_status(every_grinder, "cancelled", "confirmed")["status"] == "confirmed"


def test_a_restock_by_the_clerk_raises_both_figures(shop: ShopClient) -> None:
    tea = shop.product(10)
    shop.login()
    shop.restock(10, 3)
    shop.wait_for_product(10, on_hand=tea["on_hand"] + 3, available=tea["available"] + 3)


def test_the_same_idempotency_key_and_body_give_the_same_order(shop: ShopClient) -> None:
    beans = shop.product(6)
    key, body = uuid.uuid4().hex, order_body([(6, 1)])

    first = shop.placed(shop.submit(body, idempotency_key=key))
    again = shop.placed(shop.submit(body, idempotency_key=key))

    assert again == first
    shop.wait_for_status(first, "confirmed")
    shop.wait_for_product(6, available=beans["available"] - 1)


def test_the_same_idempotency_key_sent_at_once_by_many_gives_one_order(stack: Stack) -> None:
    key, body = uuid.uuid4().hex, order_body([(7, 1)])
    start_line = threading.Barrier(8)

    def submit(_: int) -> PlacedOrder:
        with ShopClient(stack.url) as shopper:
            start_line.wait(timeout=10)
            return shopper.placed(shopper.submit(body, idempotency_key=key))

    with ThreadPoolExecutor(8) as pool:
        answers = set(pool.map(submit, range(8)))

    assert len(answers) == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict(shop: ShopClient) -> None:
    key, body = uuid.uuid4().hex, order_body([(9, 1)])
    first = shop.placed(shop.submit(body, idempotency_key=key))

    conflict = shop.submit({**body, "items": [{"product_id": 9, "quantity": 2}]}, idempotency_key=key)

    assert conflict.status_code == 409
    assert conflict.json()["error"]["message"]
    assert shop.placed(shop.submit(body, idempotency_key=key)) == first


def _without(body: dict[str, Any], field: str) -> dict[str, Any]:
    return {name: value for name, value in body.items() if name != field}


def _quantity(quantity: Any) -> dict[str, Any]:
    return {**order_body(), "items": [{"product_id": 1, "quantity": quantity}]}


INVALID_CHECKOUTS: list[Any] = [
    pytest.param(order_body([(999_999, 1)]), "items[0].product_id", id="unknown-product"),
    pytest.param(_quantity(0), "items[0].quantity", id="quantity-0"),
    pytest.param(_quantity(-1), "items[0].quantity", id="quantity-negative"),
    pytest.param(_quantity(1.5), "items[0].quantity", id="quantity-fraction"),
    pytest.param(_quantity("2"), "items[0].quantity", id="quantity-string"),
    pytest.param(_quantity(True), "items[0].quantity", id="quantity-true"),
    pytest.param(_quantity(10**30), "items[0].quantity", id="quantity-huge"),
    pytest.param(order_body([]), "items", id="empty-cart"),
    pytest.param(order_body(email="not-an-email"), "email", id="bad-email"),
    pytest.param(_without(order_body(), "address"), "address", id="missing-address"),
    pytest.param(order_body(payment_method="pm_card_bitcoin"), "payment_method", id="unknown-payment-method"),
    pytest.param(b'{"email": "a@example.com", "items": [', "body", id="body-not-json"),
    pytest.param(b"[]", "body", id="body-not-an-object"),
    # Valid JSON, but not text that can be stored or sent: "\ud800" is half of a UTF-16 pair.
    pytest.param(json.dumps(order_body(name="\ud800")).encode(), "name", id="name-lone-surrogate"),
]


@pytest.mark.parametrize(("body", "field"), INVALID_CHECKOUTS)
def test_an_invalid_checkout_is_refused_naming_the_field(shop: ShopClient, body: Any, field: str) -> None:
    response = shop.submit(body)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["message"]
    assert field in error["fields"], error


def test_an_order_is_shown_only_with_its_token(shop: ShopClient) -> None:
    placed = shop.checkout([(8, 1)])

    assert shop.http.get(f"/api/orders/{placed.order_id}").status_code == 404
    assert shop.http.get(f"/api/orders/{placed.order_id}", headers={"X-Order-Token": "wrong"}).status_code == 404
    assert shop.http.get(f"/api/orders/{placed.order_id}", params={"token": placed.token}).status_code == 200


def test_clerk_endpoints_refuse_a_shopper(shop: ShopClient) -> None:
    placed = shop.checkout([(8, 1)])

    assert shop.http.get("/api/warehouse/orders").status_code == 401
    assert shop.http.post(f"/api/warehouse/orders/{placed.order_id}/dispatch").status_code == 401
    assert shop.http.post("/api/warehouse/products/8/restock", json={"quantity": 1}).status_code == 401
    assert shop.http.post("/api/login", json={"username": "clerk", "password": "wrong"}).status_code == 401


@pytest.mark.parametrize("email", ["zoë@example.com"], ids=["non-ascii-local-part"])
def test_an_email_address_the_shop_accepts_is_one_it_can_write_to(stack: Stack, shop: ShopClient, email: str) -> None:
    response = shop.submit(order_body([(8, 1)], email=email))
    if response.status_code == 422:
        assert "email" in response.json()["error"]["fields"]
        return
    placed = shop.placed(response)
    mails = wait_for_emails(stack.data_dir, placed.order_id, ["pending"], timeout=10)
    assert mails["pending"]["To"].addresses[0].addr_spec == email
