"""The read model applies a snapshot only when it is newer, so reordering never moves it back."""

from __future__ import annotations

from app.read_model.queries import Product
from tests.app.storefront import Storefront, eventually
from workers.contracts.catalog import ProductCreated
from workers.contracts.orders import OrderConfirmed, OrderDispatched, OrderPlaced, OrderShipped


def test_an_older_order_snapshot_arriving_late_is_ignored(storefront: Storefront) -> None:
    placed = storefront.place_order(storefront.add_product())
    storefront.announce_order(OrderDispatched, placed, version=3)

    late = storefront.announce_order(OrderConfirmed, placed, version=2)
    storefront.projected(late)

    order = storefront.order(placed)
    assert (order["status"], order["version"]) == ("dispatched", 3)


def test_a_duplicate_snapshot_changes_nothing(storefront: Storefront) -> None:
    placed = storefront.place_order(storefront.add_product())
    storefront.announce_order(OrderConfirmed, placed, version=2)
    eventually(lambda: storefront.order_status(placed, "confirmed"), "the order to be confirmed")
    before = storefront.order(placed)

    again = storefront.announce_order(OrderConfirmed, placed, version=2, cancel_reason="should not show")
    storefront.projected(again)

    assert storefront.order(placed) == before


def test_newer_snapshots_carry_the_whole_order(storefront: Storefront) -> None:
    placed = storefront.place_order(storefront.add_product())
    storefront.announce_order(OrderPlaced, placed, version=1)

    storefront.announce_order(OrderShipped, placed, version=4, carrier="Parcelo", tracking_number="PCL0123456789")

    order = eventually(lambda: storefront.order_status(placed, "shipped"), "the order to be shipped")
    assert (order["carrier"], order["tracking_number"], order["version"]) == ("Parcelo", "PCL0123456789", 4)
    assert [h["status"] for h in order["history"]] == ["pending", "shipped"]


def test_an_older_stock_figure_arriving_late_is_ignored(storefront: Storefront) -> None:
    product = storefront.add_product(on_hand=10)
    storefront.change_stock(product, on_hand=10, reserved=4, version=3, cause="reserve", delta_available=-4)

    late = storefront.change_stock(product, on_hand=10, reserved=1, version=2, cause="reserve", delta_available=-1)
    storefront.projected(late)

    assert storefront.product(product.id, on_hand=10, available=6, reserved=4)
    assert storefront.http.get("/api/products").json()["stream_id"] == late.entry_id


def test_stock_that_overtakes_the_catalog_waits_for_the_product(storefront: Storefront) -> None:
    known = storefront.add_product(on_hand=0, announce_stock=False)
    unknown = Product(known.id + 100_000, f"SKU-{known.id + 100_000}", "Late kettle", 990)

    early = storefront.change_stock(unknown, on_hand=5, version=1, delta_on_hand=5)
    storefront.projected(early)

    assert unknown.id not in storefront.products()  # nothing to sell without a name and price yet
    created = ProductCreated(
        product_id=unknown.id, sku=unknown.sku, name=unknown.name, description="", price_cents=990, opening_stock=5
    )
    storefront.publish(created, aggregate_id=str(unknown.id))
    listed = eventually(lambda: storefront.product(unknown.id), "the product to be listed")
    assert (listed["name"], listed["price_cents"], listed["on_hand"], listed["available"]) == ("Late kettle", 990, 5, 5)
