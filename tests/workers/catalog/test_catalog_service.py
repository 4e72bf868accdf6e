"""The catalog service creates and changes products as managers ask, and refuses what it must."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.support.harness import ServiceHarness
from workers.contracts.storefront import ProductCreateRequested, ProductUpdateRequested
from workers.eventing import Envelope
from workers.eventing.ids import uuid7


def ask_to_create(catalog: ServiceHarness, product_id: int, sku: str, **fields: Any) -> Envelope:
    values: dict[str, Any] = {"name": "Tea towel", "description": "Linen.", "price_cents": 900, "opening_stock": 7}
    data = ProductCreateRequested(
        request_id=uuid7(),
        product_id=product_id,
        sku=sku,
        manager="manager",
        requested_at=datetime.now(UTC),
        **{**values, **fields},
    )
    return catalog.publish(data, aggregate_id=str(product_id), source="gateway")


def ask_to_change(catalog: ServiceHarness, product_id: int, **changes: Any) -> Envelope:
    data = ProductUpdateRequested(
        request_id=uuid7(), product_id=product_id, manager="manager", requested_at=datetime.now(UTC), **changes
    )
    return catalog.publish(data, aggregate_id=str(product_id), source="gateway")


def test_a_requested_product_is_created_with_its_opening_stock(catalog: ServiceHarness) -> None:
    ask_to_create(catalog, 101, "TOWEL-LINEN", opening_stock=7)
    catalog.run_until_idle()

    [created] = catalog.published("catalog", "product.created")
    assert (created.data.product_id, created.data.sku, created.data.opening_stock) == (101, "TOWEL-LINEN", 7)
    assert (created.envelope.aggregate_id, created.envelope.aggregate_version) == ("101", 1)


def test_a_taken_sku_or_id_is_refused_naming_the_field(catalog: ServiceHarness) -> None:
    ask_to_create(catalog, 101, "TOWEL-LINEN")
    ask_to_create(catalog, 102, "TOWEL-LINEN")
    ask_to_create(catalog, 101, "TOWEL-COTTON")
    catalog.run_until_idle()

    assert [e.data.product_id for e in catalog.published("catalog", "product.created")] == [101]
    refusals = [(e.data.product_id, e.data.field) for e in catalog.published("catalog", "product.refused")]
    assert refusals == [(102, "sku"), (101, "product_id")]


def test_a_change_publishes_the_whole_product_with_a_new_version(catalog: ServiceHarness) -> None:
    ask_to_create(catalog, 101, "TOWEL-LINEN", price_cents=900)
    catalog.run_until_idle()
    ask_to_change(catalog, 101, price_cents=1100)
    ask_to_change(catalog, 101, archived=True)
    ask_to_change(catalog, 101, archived=False, name="Linen tea towel")
    catalog.run_until_idle()

    updates = catalog.published("catalog", "product.updated")
    assert [(u.data.price_cents, u.data.archived, u.data.name) for u in updates] == [
        (1100, False, "Tea towel"),
        (1100, True, "Tea towel"),
        (1100, False, "Linen tea towel"),
    ]
    assert [u.envelope.aggregate_version for u in updates] == [2, 3, 4]
    assert {u.data.sku for u in updates} == {"TOWEL-LINEN"}


def test_a_change_that_changes_nothing_publishes_nothing(catalog: ServiceHarness) -> None:
    ask_to_create(catalog, 101, "TOWEL-LINEN", price_cents=900)
    catalog.run_until_idle()
    ask_to_change(catalog, 101, price_cents=900)
    catalog.run_until_idle()

    assert catalog.published("catalog", "product.updated") == []


def test_a_change_of_an_unknown_product_is_refused(catalog: ServiceHarness) -> None:
    ask_to_change(catalog, 999, price_cents=100)
    catalog.run_until_idle()

    [refused] = catalog.published("catalog", "product.refused")
    assert (refused.data.product_id, refused.data.field, refused.data.reason) == (999, "product_id", "no such product")
