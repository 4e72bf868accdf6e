"""What a clerk asks of the warehouse goes out on the storefront stream: dispatch and restock."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.app.storefront import CLERK_USER, Placed, Storefront, eventually
from workers.contracts.orders import OrderConfirmed


@pytest.fixture
def auth(storefront: Storefront) -> dict[str, str]:
    return {"Authorization": f"Bearer {storefront.clerk_token()}"}


def confirmed_order(storefront: Storefront, quantity: int = 1) -> Placed:
    """An order checked out here that the orders service has since confirmed."""
    placed = storefront.place_order(storefront.add_product(), quantity)
    storefront.announce_order(OrderConfirmed, placed, version=2, stock_reserved=True)
    eventually(lambda: storefront.order_status(placed, "confirmed"), "the order to be confirmed")
    return placed


def test_confirmed_orders_are_listed_for_the_clerk(storefront: Storefront, auth: dict[str, str]) -> None:
    placed = confirmed_order(storefront, quantity=2)
    pending = storefront.place_order(storefront.add_product())

    orders = storefront.http.get("/api/warehouse/orders", params={"status": "confirmed"}, headers=auth).json()["orders"]

    [listed] = [o for o in orders if o["order_id"] == placed.order_id]
    assert listed["status"] == "confirmed"
    assert [(line["product_id"], line["quantity"]) for line in listed["lines"]] == [(placed.lines[0].product_id, 2)]
    assert listed["dispatch_requested"] is False
    assert pending.order_id not in {o["order_id"] for o in orders}


def test_confirmed_is_the_default_status_filter(storefront: Storefront, auth: dict[str, str]) -> None:
    placed = confirmed_order(storefront)

    orders = storefront.http.get("/api/warehouse/orders", headers=auth).json()["orders"]

    assert placed.order_id in {o["order_id"] for o in orders}
    assert {o["status"] for o in orders} == {"confirmed"}


def test_pending_orders_can_be_listed_too(storefront: Storefront, auth: dict[str, str]) -> None:
    pending = storefront.place_order(storefront.add_product())

    orders = storefront.http.get("/api/warehouse/orders", params={"status": "pending"}, headers=auth).json()["orders"]

    assert pending.order_id in {o["order_id"] for o in orders}


def test_an_unknown_status_filter_is_invalid(storefront: Storefront, auth: dict[str, str]) -> None:
    response = storefront.http.get("/api/warehouse/orders", params={"status": "lost"}, headers=auth)

    assert response.status_code == 422
    assert "status" in response.json()["error"]["fields"]


def test_dispatching_a_confirmed_order_asks_the_warehouse(storefront: Storefront, auth: dict[str, str]) -> None:
    placed = confirmed_order(storefront)

    response = storefront.http.post(f"/api/warehouse/orders/{placed.order_id}/dispatch", headers=auth)

    assert response.status_code == 202
    [requested] = eventually(
        lambda: storefront.published_for("dispatch.requested", placed.order_id), "dispatch.requested"
    )
    assert (requested.data.order_id, requested.data.clerk) == (placed.order_id, CLERK_USER)
    assert requested.envelope.correlation_id == placed.order_id
    assert storefront.order(placed)["dispatch_requested"] is True


def test_a_pending_order_cannot_be_dispatched(storefront: Storefront, auth: dict[str, str]) -> None:
    placed = storefront.place_order(storefront.add_product())

    response = storefront.http.post(f"/api/warehouse/orders/{placed.order_id}/dispatch", headers=auth)

    assert response.status_code == 409
    assert set(response.json()["error"]) == {"message", "fields"}
    eventually(storefront.all_sent, "the relay to publish the outbox")
    assert storefront.published_for("dispatch.requested", placed.order_id) == []


def test_an_unknown_order_cannot_be_dispatched(storefront: Storefront, auth: dict[str, str]) -> None:
    response = storefront.http.post(f"/api/warehouse/orders/{uuid.uuid4()}/dispatch", headers=auth)

    assert response.status_code == 404


def test_only_clerks_dispatch(storefront: Storefront) -> None:
    placed = confirmed_order(storefront)

    response = storefront.http.post(f"/api/warehouse/orders/{placed.order_id}/dispatch")

    assert response.status_code == 401


def test_restocking_asks_the_warehouse_for_more_units(storefront: Storefront, auth: dict[str, str]) -> None:
    product = storefront.add_product()

    response = storefront.http.post(
        f"/api/warehouse/products/{product.id}/restock", json={"quantity": 12}, headers=auth
    )

    assert response.status_code == 202
    request_id = response.json()["request_id"]

    def published() -> list[Any]:
        return [e for e in storefront.events("storefront", "restock.requested") if e.data.request_id == request_id]

    [requested] = eventually(published, "restock.requested")
    assert (requested.data.product_id, requested.data.quantity, requested.data.clerk) == (product.id, 12, CLERK_USER)
    assert requested.envelope.aggregate_id == str(product.id)


@pytest.mark.parametrize("quantity", [0, -3, "x", "5", 1.5, True, None, 10_001], ids=str)
def test_a_restock_needs_a_sensible_quantity(storefront: Storefront, auth: dict[str, str], quantity: Any) -> None:
    product = storefront.add_product()

    response = storefront.http.post(
        f"/api/warehouse/products/{product.id}/restock", json={"quantity": quantity}, headers=auth
    )

    assert response.status_code == 422
    assert "quantity" in response.json()["error"]["fields"]


def test_a_restock_body_must_be_an_object(storefront: Storefront, auth: dict[str, str]) -> None:
    product = storefront.add_product()

    response = storefront.http.post(f"/api/warehouse/products/{product.id}/restock", json=[5], headers=auth)

    assert response.status_code == 422


def test_an_unknown_product_cannot_be_restocked(storefront: Storefront, auth: dict[str, str]) -> None:
    response = storefront.http.post("/api/warehouse/products/987654321/restock", json={"quantity": 5}, headers=auth)

    assert response.status_code == 404


def test_only_clerks_restock(storefront: Storefront) -> None:
    product = storefront.add_product()

    response = storefront.http.post(f"/api/warehouse/products/{product.id}/restock", json={"quantity": 5})

    assert response.status_code == 401
