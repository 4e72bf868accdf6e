"""A manager's catalog requests at the gateway: checked, recorded for the catalog, and projected back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.app.browser import next_json
from tests.app.storefront import Storefront
from tests.support.waiting import wait_until
from workers.contracts.catalog import ProductRefused, ProductUpdated
from workers.eventing.ids import uuid7


@pytest.fixture
def manager(storefront: Storefront) -> dict[str, str]:
    return {"Authorization": f"Bearer {storefront.manager_token()}"}


def published_one(storefront: Storefront, event_type: str, matches: Callable[[Any], bool]) -> Any:
    """The one event of that type on ``storefront`` that ``matches``, once the web has published it.

    The web process publishes right after its commit, from a task of its own: the 202 can come first.
    """
    found = wait_until(
        lambda: [e for e in storefront.events("storefront", event_type) if matches(e)],
        message=f"no {event_type} on the storefront stream",
    )
    [event] = found
    return event


def new_product(**fields: Any) -> dict[str, Any]:
    sku = f"TOWEL-{uuid7()[-8:]}"
    return {"sku": sku, "name": "Tea towel", "description": "Linen.", "price_cents": 900, "opening_stock": 5, **fields}


def updated(product_id: int, sku: str, **fields: Any) -> ProductUpdated:
    values: dict[str, Any] = {"name": "Tea towel", "description": "Linen.", "price_cents": 900, "archived": False}
    return ProductUpdated(product_id=product_id, sku=sku, **{**values, **fields})


def test_a_new_product_is_recorded_for_the_catalog_with_the_id_the_answer_gives(
    storefront: Storefront, manager: dict[str, str]
) -> None:
    storefront.add_product()  # the read model knows some products: the new id is past them
    body = new_product()
    response = storefront.http.post("/api/catalog/products", json=body, headers=manager)

    assert response.status_code == 202, response.text
    product_id = response.json()["product_id"]
    assert product_id > max(storefront.products())
    requested = published_one(storefront, "product.create_requested", lambda e: e.data.sku == body["sku"])
    assert (requested.data.product_id, requested.data.opening_stock, requested.data.manager) == (
        product_id,
        5,
        "manager-under-test",
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"price_cents": -1}, "price_cents"),
        ({"price_cents": 100_000_000}, "price_cents"),
        ({"price_cents": 9.5}, "price_cents"),
        ({"name": "  "}, "name"),
        ({"opening_stock": 2.5}, "opening_stock"),
        ({"opening_stock": "7"}, "opening_stock"),
        ({"sku": ""}, "sku"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_fields_are_refused_with_422_naming_the_field(
    storefront: Storefront, manager: dict[str, str], fields: dict[str, Any], field: str
) -> None:
    response = storefront.http.post("/api/catalog/products", json=new_product(**fields), headers=manager)

    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]


def test_a_sku_the_read_model_knows_is_refused_up_front(storefront: Storefront, manager: dict[str, str]) -> None:
    known = storefront.add_product()
    response = storefront.http.post("/api/catalog/products", json=new_product(sku=known.sku), headers=manager)

    assert response.status_code == 422
    assert "sku" in response.json()["error"]["fields"]


def test_a_sku_requested_and_not_yet_created_is_refused_too(storefront: Storefront, manager: dict[str, str]) -> None:
    body = new_product()
    assert storefront.http.post("/api/catalog/products", json=body, headers=manager).status_code == 202
    again = storefront.http.post("/api/catalog/products", json=new_product(sku=body["sku"]), headers=manager)

    assert again.status_code == 422
    assert "sku" in again.json()["error"]["fields"]


def test_the_catalogs_late_refusal_shows_on_the_managers_listing(
    storefront: Storefront, manager: dict[str, str]
) -> None:
    body = new_product()
    product_id = storefront.http.post("/api/catalog/products", json=body, headers=manager).json()["product_id"]
    requested = published_one(storefront, "product.create_requested", lambda e: e.data.sku == body["sku"])
    refusal = ProductRefused(
        request_id=requested.data.request_id, product_id=product_id, field="sku", reason="sku is already taken"
    )
    storefront.projected(storefront.publish(refusal, aggregate_id=requested.data.request_id, source="catalog"))

    listing = storefront.http.get("/api/catalog/products", headers=manager).json()
    [request] = [r for r in listing["requests"] if r["sku"] == body["sku"]]
    assert (request["status"], request["field"], request["reason"]) == ("refused", "sku", "sku is already taken")


def test_clerks_may_not_manage_the_catalog(storefront: Storefront) -> None:
    clerk = {"Authorization": f"Bearer {storefront.clerk_token()}"}

    assert storefront.http.post("/api/catalog/products", json=new_product(), headers=clerk).status_code == 403
    assert storefront.http.patch("/api/catalog/products/1", json={"price_cents": 1}, headers=clerk).status_code == 403
    assert storefront.http.post("/api/catalog/products", json=new_product()).status_code == 401


def test_a_change_is_recorded_for_the_catalog(storefront: Storefront, manager: dict[str, str]) -> None:
    product = storefront.add_product()
    response = storefront.http.patch(
        f"/api/catalog/products/{product.id}", json={"price_cents": 1500, "archived": True}, headers=manager
    )

    assert response.status_code == 202, response.text
    asked = published_one(storefront, "product.update_requested", lambda e: e.data.product_id == product.id)
    assert (asked.data.price_cents, asked.data.archived, asked.data.name) == (1500, True, None)


@pytest.mark.parametrize("body", [{}, {"price_cents": -5}, {"archived": "yes"}, {"name": ""}, {"sku": "NEW"}], ids=str)
def test_a_bad_change_is_refused_with_422(storefront: Storefront, manager: dict[str, str], body: Any) -> None:
    product = storefront.add_product()

    response = storefront.http.patch(f"/api/catalog/products/{product.id}", json=body, headers=manager)

    assert response.status_code == 422


def test_a_change_of_an_unknown_product_is_404(storefront: Storefront, manager: dict[str, str]) -> None:
    response = storefront.http.patch("/api/catalog/products/987654", json={"price_cents": 100}, headers=manager)

    assert response.status_code == 404


def test_an_archived_product_leaves_the_listing_and_cannot_be_ordered(storefront: Storefront) -> None:
    product = storefront.add_product()
    placed = storefront.place_order(product)
    archived = updated(product.id, product.sku, price_cents=product.price_cents, archived=True)
    storefront.projected(storefront.publish(archived, aggregate_id=str(product.id), aggregate_version=2))

    assert product.id not in storefront.products()
    response = storefront.checkout([{"product_id": product.id, "quantity": 1}])
    assert response.status_code == 422
    assert "no longer on sale" in response.json()["error"]["fields"]["items[0].product_id"]
    assert storefront.order(placed)["lines"][0]["product_id"] == product.id  # old orders keep their lines


def test_a_price_change_is_what_the_next_checkout_charges(storefront: Storefront) -> None:
    product = storefront.add_product(price_cents=1000)
    dearer = updated(product.id, product.sku, price_cents=1300)
    storefront.projected(storefront.publish(dearer, aggregate_id=str(product.id), aggregate_version=2))

    placed = storefront.place_order(product, quantity=2)

    order = storefront.order(placed)
    assert order["lines"][0]["unit_price_cents"] == 1300
    assert order["total_cents"] == 2600
    assert storefront.products()[product.id]["price_cents"] == 1300


def test_the_catalog_socket_replays_and_pushes_product_changes(storefront: Storefront) -> None:
    product = storefront.add_product(price_cents=1000)
    after = storefront.http.get("/api/products").json()["catalog_stream_id"]
    first = storefront.publish(
        updated(product.id, product.sku, price_cents=1100), aggregate_id=str(product.id), aggregate_version=2
    )

    with storefront.http.websocket_connect(f"/ws/catalog?after={after}") as socket:
        replayed = next_json(socket)
        live = storefront.publish(
            updated(product.id, product.sku, price_cents=1100, archived=True),
            aggregate_id=str(product.id),
            aggregate_version=3,
        )
        pushed = next_json(socket)

    assert replayed == {
        "type": "product.updated",
        "product_id": product.id,
        "name": "Tea towel",
        "price_cents": 1100,
        "archived": False,
        "stream_id": first.entry_id,
        "event_id": first.envelope.id,
    }
    assert (pushed["stream_id"], pushed["archived"]) == (live.entry_id, True)


def test_the_shop_page_shows_prices_by_id_and_hides_archived_products(storefront: Storefront) -> None:
    on_sale, off_sale = storefront.add_product(price_cents=1234), storefront.add_product()
    storefront.projected(
        storefront.publish(
            updated(off_sale.id, off_sale.sku, archived=True), aggregate_id=str(off_sale.id), aggregate_version=2
        )
    )

    page = storefront.http.get("/").text

    assert f'id="price-{on_sale.id}">€12.34<' in page
    assert f'id="sale-{off_sale.id}" data-archived="true"' in page
    assert f'id="sale-{on_sale.id}" data-archived="false"' in page


def test_the_manager_page_lists_every_product(storefront: Storefront) -> None:
    product = storefront.add_product()
    storefront.browser_login("manager")

    page = storefront.http.get("/manage/products")

    assert page.status_code == 200
    assert product.sku in page.text
