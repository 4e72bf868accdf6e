"""The JSON API of the contract: products, checkout, an order for its owner, and bad input."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from app.http.limits import MAX_BODY_BYTES
from tests.app.storefront import CUSTOMER, Storefront, eventually
from workers.contracts.orders import OrderPlaced


def test_products_are_listed_with_their_figures_and_the_stream_position(storefront: Storefront) -> None:
    product = storefront.add_product(on_hand=7, price_cents=4590)

    body = storefront.http.get("/api/products").json()

    [listed] = [p for p in body["products"] if p["id"] == product.id]
    assert {k: listed[k] for k in ("id", "sku", "name", "price_cents", "available", "on_hand")} == {
        "id": product.id,
        "sku": product.sku,
        "name": product.name,
        "price_cents": 4590,
        "available": 7,
        "on_hand": 7,
    }
    assert body["stream_id"] == storefront.position("stock") != "0-0"


def test_a_checkout_is_accepted_with_an_order_id_a_token_and_a_tracking_url(storefront: Storefront) -> None:
    product = storefront.add_product()

    response = storefront.checkout([{"product_id": product.id, "quantity": 2}])

    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"order_id", "status", "token", "tracking_url"}
    assert body["status"] == "pending"
    assert uuid.UUID(body["order_id"]).version == 7
    assert len(body["token"]) >= 20
    assert body["tracking_url"].startswith(f"/orders/{body['order_id']}?token=")
    assert response.headers["location"] == f"/api/orders/{body['order_id']}"


def test_a_checkout_is_published_on_the_storefront_stream_with_priced_lines(storefront: Storefront) -> None:
    kettle, filters = storefront.add_product(price_cents=4500), storefront.add_product(price_cents=399)

    response = storefront.checkout(
        [{"product_id": kettle.id, "quantity": 1}, {"product_id": filters.id, "quantity": 3}],
        payment_method="pm_card_declined",
    )
    order_id = response.json()["order_id"]

    [event] = eventually(lambda: storefront.published_for("checkout.submitted", order_id), "checkout.submitted")
    assert event.envelope.source == "gateway"
    assert (event.envelope.aggregate_version, event.envelope.correlation_id) == (1, order_id)
    assert event.data.order_id == order_id
    assert [(line.product_id, line.sku, line.name, line.unit_price_cents, line.quantity, line.line_total_cents)
            for line in event.data.lines] == [
        (kettle.id, kettle.sku, kettle.name, 4500, 1, 4500),
        (filters.id, filters.sku, filters.name, 399, 3, 1197),
    ]  # fmt: skip
    assert event.data.total_cents == 5697
    assert event.data.payment_method == "pm_card_declined"
    assert event.data.customer.model_dump() == CUSTOMER


def test_the_owner_sees_the_order_with_the_token_header_or_parameter(storefront: Storefront) -> None:
    placed = storefront.place_order(storefront.add_product(price_cents=1000), quantity=2)

    by_header = storefront.http.get(f"/api/orders/{placed.order_id}", headers={"X-Order-Token": placed.token})
    by_query = storefront.http.get(f"/api/orders/{placed.order_id}", params={"token": placed.token})

    assert by_header.status_code == by_query.status_code == 200
    order = by_header.json()
    assert order == by_query.json()
    assert (order["order_id"], order["status"], order["total_cents"]) == (placed.order_id, "pending", 2000)
    assert [(line["product_id"], line["quantity"]) for line in order["lines"]] == [(placed.lines[0].product_id, 2)]
    assert [h["status"] for h in order["history"]] == ["pending"]
    assert set(order["history"][0]) == {"status", "at"}


@pytest.mark.parametrize(
    "credentials",
    [{}, {"headers": {"X-Order-Token": "guess"}}, {"params": {"token": ""}}, {"params": {"token": "guess"}}],
    ids=["missing", "wrong-header", "empty-parameter", "wrong-parameter"],
)
def test_without_the_right_token_the_order_does_not_exist(storefront: Storefront, credentials: dict[str, Any]) -> None:
    placed = storefront.place_order(storefront.add_product())

    response = storefront.http.get(f"/api/orders/{placed.order_id}", **credentials)

    assert response.status_code == 404
    assert set(response.json()["error"]) == {"message", "fields"}


def test_a_token_opens_only_its_own_order(storefront: Storefront) -> None:
    product = storefront.add_product()
    mine, theirs = storefront.place_order(product), storefront.place_order(product)

    response = storefront.http.get(f"/api/orders/{theirs.order_id}", headers={"X-Order-Token": mine.token})

    assert response.status_code == 404


def test_an_unknown_order_is_not_found(storefront: Storefront) -> None:
    placed = storefront.place_order(storefront.add_product())

    response = storefront.http.get(f"/api/orders/{uuid.uuid4()}", headers={"X-Order-Token": placed.token})

    assert response.status_code == 404


def test_the_order_follows_the_orders_service(storefront: Storefront) -> None:
    placed = storefront.place_order(storefront.add_product())

    storefront.announce_order(OrderPlaced, placed, version=1, payment_method="pm_card_visa")

    def projected() -> dict[str, Any] | None:
        order = storefront.order(placed)
        return order if order["version"] == 1 else None

    order = eventually(projected, "order.placed in the read model")
    assert (order["status"], order["payment_method"]) == ("pending", "pm_card_visa")


@pytest.fixture(scope="module")
def product_id(shared_storefront: Storefront) -> int:
    """A product the read model knows, for tests that only need one to exist."""
    return shared_storefront.add_product().id


class TestIdempotencyKey:
    def test_the_same_key_and_body_give_the_same_order_once(self, storefront: Storefront) -> None:
        product = storefront.add_product()
        key = str(uuid.uuid4())
        items = [{"product_id": product.id, "quantity": 1}]

        first = storefront.checkout(items, key=key)
        again = storefront.checkout(items, key=key)

        assert first.status_code == again.status_code == 202
        assert first.json() == again.json()
        eventually(storefront.all_sent, "the relay to publish the outbox")
        assert len(storefront.published_for("checkout.submitted", first.json()["order_id"])) == 1
        orders = {e.data.order_id for e in storefront.events("storefront", "checkout.submitted")}
        assert orders & {again.json()["order_id"]} == {first.json()["order_id"]}

    def test_the_same_key_with_another_body_is_a_conflict(self, storefront: Storefront) -> None:
        product = storefront.add_product()
        key = str(uuid.uuid4())
        first = storefront.checkout([{"product_id": product.id, "quantity": 1}], key=key)

        other = storefront.checkout([{"product_id": product.id, "quantity": 2}], key=key)

        assert first.status_code == 202
        assert other.status_code == 409
        assert set(other.json()["error"]) == {"message", "fields"}

    def test_different_keys_make_different_orders(self, storefront: Storefront) -> None:
        items = [{"product_id": storefront.add_product().id, "quantity": 1}]

        one = storefront.checkout(items, key=str(uuid.uuid4())).json()
        other = storefront.checkout(items, key=str(uuid.uuid4())).json()

        assert one["order_id"] != other["order_id"]

    @pytest.mark.parametrize("key", ["", "k" * 201], ids=["empty", "too-long"])
    def test_an_unreasonable_key_is_invalid(self, storefront: Storefront, key: str) -> None:
        response = storefront.checkout([{"product_id": storefront.add_product().id, "quantity": 1}], key=key)

        assert response.status_code == 422
        assert "Idempotency-Key" in response.json()["error"]["fields"]


class TestInvalidCheckouts:
    """Every bad request is a 422 naming the field (never a 500: the client raises server errors)."""

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"items": [{"product_id": 987654321, "quantity": 1}]}, "items[0].product_id"),
            ({"quantity": 0}, "items[0].quantity"),
            ({"quantity": -1}, "items[0].quantity"),
            ({"quantity": 1.5}, "items[0].quantity"),
            ({"quantity": "2"}, "items[0].quantity"),
            ({"quantity": True}, "items[0].quantity"),
            ({"quantity": 10**9}, "items[0].quantity"),
            ({"items": []}, "items"),
            ({"items": {"product_id": 1}}, "items"),
            ({"items": "kettle"}, "items"),
            ({"email": "ada.example.com"}, "email"),
            ({"name": None}, "name"),
            ({"name": ""}, "name"),
            ({"address": None}, "address"),
            ({"payment_method": "pm_card_unknown"}, "payment_method"),
            ({"payment_method": None}, "payment_method"),
        ],
        ids=[
            "unknown-product",
            "quantity-zero",
            "quantity-negative",
            "quantity-fraction",
            "quantity-text",
            "quantity-boolean",
            "quantity-huge",
            "empty-cart",
            "items-object",
            "items-text",
            "bad-email",
            "missing-name",
            "empty-name",
            "missing-address",
            "unknown-payment-method",
            "missing-payment-method",
        ],
    )
    def test_a_bad_field_is_named(
        self, storefront: Storefront, product_id: int, change: dict[str, Any], field: str
    ) -> None:
        body: dict[str, Any] = {
            **CUSTOMER,
            "payment_method": "pm_card_visa",
            "items": [{"product_id": product_id, "quantity": change.pop("quantity", 1)}],
            **change,
        }
        for name, value in list(body.items()):
            if value is None:
                del body[name]

        response = storefront.http.post("/api/orders", json=body)

        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert isinstance(error["message"], str) and error["message"]
        assert field in error["fields"]

    @pytest.mark.parametrize(
        "raw",
        [b"{not json", b"", b'{"email": "ada@example.com"', b"\xff\xfe\x00", b"[" * 50_000],
        ids=["broken", "empty", "truncated", "not-utf8", "nested-too-deeply"],
    )
    def test_a_body_that_is_not_json_is_named(self, storefront: Storefront, raw: bytes) -> None:
        response = storefront.http.post("/api/orders", content=raw, headers={"content-type": "application/json"})

        assert response.status_code == 422
        assert list(response.json()["error"]["fields"]) == ["body"]

    @pytest.mark.parametrize("raw", [[], [{"items": []}], "order", 42, None], ids=str)
    def test_a_body_that_is_not_an_object_is_named(self, storefront: Storefront, raw: Any) -> None:
        response = storefront.http.post(
            "/api/orders", content=json.dumps(raw), headers={"content-type": "application/json"}
        )

        assert response.status_code == 422
        assert response.json()["error"]["fields"] == {"body": "expected a JSON object"}

    def test_an_oversized_body_is_refused(self, storefront: Storefront, product_id: int) -> None:
        body = {**CUSTOMER, "payment_method": "pm_card_visa", "items": [{"product_id": product_id, "quantity": 1}]}
        body["address"] = "x" * (MAX_BODY_BYTES + 1)

        response = storefront.http.post("/api/orders", json=body)

        assert response.status_code == 413
        assert set(response.json()["error"]) == {"message", "fields"}

    def test_an_oversized_body_without_a_length_is_refused(self, storefront: Storefront) -> None:
        def chunks() -> Iterator[bytes]:
            yield b'{"address": "'
            for _ in range(MAX_BODY_BYTES // 1024 + 1):
                yield b"x" * 1024
            yield b'"}'

        response = storefront.http.post("/api/orders", content=chunks(), headers={"content-type": "application/json"})

        assert response.status_code == 413

    def test_nothing_is_recorded_for_an_invalid_checkout(self, storefront: Storefront, product_id: int) -> None:
        eventually(storefront.all_sent, "the relay to publish the outbox")
        before = len(storefront.events("storefront", "checkout.submitted"))

        response = storefront.checkout([{"product_id": product_id, "quantity": 0}])

        assert response.status_code == 422
        assert storefront.gateway.outbox.backlog() == 0
        assert len(storefront.events("storefront", "checkout.submitted")) == before


@pytest.mark.parametrize("path", ["/api/no-such-thing", "/api/orders/1/2/3", "/api/"])
def test_an_unknown_api_path_is_a_json_404_not_a_page(storefront: Storefront, path: str) -> None:
    response = storefront.http.get(path)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": {"message": "Not Found", "fields": {}}}


def test_a_wrong_method_on_an_api_route_is_a_json_405_naming_the_allowed_ones(storefront: Storefront) -> None:
    response = storefront.http.delete("/api/products")

    assert response.status_code == 405
    assert response.json() == {"error": {"message": "Method Not Allowed", "fields": {}}}
    assert "GET" in response.headers["allow"]
