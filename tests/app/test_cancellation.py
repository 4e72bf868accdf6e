"""A shopper's cancel at the gateway: asked of the orders service while it can still win, refused once it cannot."""

from __future__ import annotations

import re

import pytest

from tests.app.storefront import Placed, Storefront, eventually
from workers.contracts.orders import OrderCancelled, OrderConfirmed, OrderDispatched, OrderRefunded, PaymentState


def cancel(storefront: Storefront, placed: Placed, token: str | None = None) -> tuple[int, str]:
    response = storefront.http.post(
        f"/api/orders/{placed.order_id}/cancel", headers={"X-Order-Token": token or placed.token}
    )
    return response.status_code, (response.json().get("error", {}).get("message", "") if response.content else "")


@pytest.fixture
def clerk(storefront: Storefront) -> dict[str, str]:
    return {"Authorization": f"Bearer {storefront.clerk_token()}"}


def test_a_pending_order_can_be_cancelled_once(storefront: Storefront) -> None:
    placed = storefront.place_order(storefront.add_product())

    assert cancel(storefront, placed)[0] == 202
    # Published right after the commit, by the web process's own publisher: not necessarily before the 202.
    [asked] = eventually(lambda: storefront.published_for("cancel.requested", placed.order_id), "cancel.requested")
    assert asked.envelope.correlation_id == placed.order_id
    status, message = cancel(storefront, placed)
    assert (status, message) == (409, "This order is already cancelled.")


def test_a_confirmed_order_can_be_cancelled(storefront: Storefront) -> None:
    placed = storefront.place_order(storefront.add_product())
    storefront.projected(storefront.announce_order(OrderConfirmed, placed, version=2))

    assert cancel(storefront, placed)[0] == 202


@pytest.mark.parametrize("model", [OrderDispatched, OrderCancelled], ids=["dispatched", "cancelled"])
def test_an_order_past_cancelling_answers_409_with_why(storefront: Storefront, model: type[OrderDispatched]) -> None:
    placed = storefront.place_order(storefront.add_product())
    storefront.projected(storefront.announce_order(model, placed, version=3))

    status, message = cancel(storefront, placed)

    assert status == 409
    assert message
    assert storefront.published_for("cancel.requested", placed.order_id) == []


def test_a_wrong_token_cannot_cancel(storefront: Storefront) -> None:
    placed = storefront.place_order(storefront.add_product())

    assert cancel(storefront, placed, token="not-the-token")[0] == 404
    assert storefront.published_for("cancel.requested", placed.order_id) == []


def test_after_a_cancel_a_clerks_dispatch_is_refused(storefront: Storefront, clerk: dict[str, str]) -> None:
    placed = storefront.place_order(storefront.add_product())
    storefront.projected(storefront.announce_order(OrderConfirmed, placed, version=2))
    assert cancel(storefront, placed)[0] == 202

    response = storefront.http.post(f"/api/warehouse/orders/{placed.order_id}/dispatch", headers=clerk)

    assert response.status_code == 409
    assert storefront.published_for("dispatch.requested", placed.order_id) == []


def test_after_a_dispatch_request_the_shopper_is_told_it_is_too_late(
    storefront: Storefront, clerk: dict[str, str]
) -> None:
    placed = storefront.place_order(storefront.add_product())
    storefront.projected(storefront.announce_order(OrderConfirmed, placed, version=2))
    assert storefront.http.post(f"/api/warehouse/orders/{placed.order_id}/dispatch", headers=clerk).status_code == 202

    status, message = cancel(storefront, placed)

    assert (status, message) == (409, "This order can no longer be cancelled: it is being dispatched.")


def test_the_order_shows_its_payment_and_refund(storefront: Storefront) -> None:
    placed = storefront.place_order(storefront.add_product(price_cents=1500), quantity=2)
    assert storefront.order(placed)["payment"] == {
        "status": "pending",
        "amount_cents": 3000,
        "refunded_cents": 0,
        "method": "pm_card_visa",
    }
    paid = PaymentState(payment_id="pay-1", method="pm_card_visa", status="confirmed", amount_cents=3000)
    storefront.announce_order(OrderCancelled, placed, version=3, payment=paid)
    refunded = paid.model_copy(update={"status": "refunded", "refunded_cents": 3000})
    storefront.projected(
        storefront.announce_order(OrderRefunded, placed, version=4, status="cancelled", payment=refunded)
    )

    order = storefront.order(placed)
    assert (order["status"], order["payment"]["status"], order["payment"]["refunded_cents"]) == (
        "cancelled",
        "refunded",
        3000,
    )
    page = storefront.http.get(f"/orders/{placed.order_id}?token={placed.token}").text
    assert re.search(r'id="refunded">€30\.00 refunded', page)
    assert 'id="cancel-order"' not in page


def test_the_order_page_offers_cancel_and_posts_it(storefront: Storefront) -> None:
    placed = storefront.place_order(storefront.add_product())
    path = f"/orders/{placed.order_id}?token={placed.token}"
    page = storefront.http.get(path).text
    assert 'id="cancel-order"' in page
    token = storefront.page_token(path)

    response = storefront.http.post(
        f"/orders/{placed.order_id}/cancel",
        data={"csrf_token": token, "token": placed.token},
        follow_redirects=False,
    )

    assert response.status_code == 303
    eventually(lambda: storefront.published_for("cancel.requested", placed.order_id), "the cancel request")
