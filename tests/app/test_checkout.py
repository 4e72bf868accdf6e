"""Checking a cart against the read model, field by field (pure functions, no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from app.http.errors import InvalidInput
from app.read_model.queries import Product
from app.shop.checkout_validation import MAX_LINES, MAX_QUANTITY, parse_checkout

KETTLE = Product(id=1, sku="KETTLE-1", name="Gooseneck kettle", price_cents=4500)
FILTERS = Product(id=2, sku="FILTER-100", name="Paper filters", price_cents=399)
CATALOG = {p.id: p for p in (KETTLE, FILTERS)}


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "address": "12 Analytical Row",
        "payment_method": "pm_card_visa",
        "items": [{"product_id": 1, "quantity": 2}, {"product_id": 2, "quantity": 3}],
        **overrides,
    }


def errors_for(candidate: Any) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        parse_checkout(candidate, CATALOG)
    assert caught.value.status == 422
    return caught.value.fields


def test_a_valid_cart_is_priced_from_the_read_model() -> None:
    checkout = parse_checkout(body(), CATALOG)

    assert [(line.product_id, line.sku, line.quantity, line.line_total_cents) for line in checkout.lines] == [
        (1, "KETTLE-1", 2, 9000),
        (2, "FILTER-100", 3, 1197),
    ]
    assert checkout.total_cents == 10197
    assert checkout.customer.email == "ada@example.com"
    assert checkout.payment_method == "pm_card_visa"


def test_the_same_product_twice_becomes_one_line() -> None:
    checkout = parse_checkout(body(items=[{"product_id": 1, "quantity": 1}, {"product_id": 1, "quantity": 2}]), CATALOG)

    assert [(line.product_id, line.quantity) for line in checkout.lines] == [(1, 3)]


def test_text_fields_are_trimmed() -> None:
    checkout = parse_checkout(body(name="  Ada  ", email=" ada@example.com "), CATALOG)

    assert (checkout.customer.name, checkout.customer.email) == ("Ada", "ada@example.com")


def test_the_canonical_form_ignores_the_order_of_items() -> None:
    one = parse_checkout(body(), CATALOG)
    other = parse_checkout(body(items=list(reversed(body()["items"]))), CATALOG)

    assert one.canonical() == other.canonical()
    assert one.canonical() != parse_checkout(body(payment_method="pm_card_declined"), CATALOG).canonical()


@pytest.mark.parametrize(
    "quantity",
    [0, -1, 1.5, "2", True, 10**9, None],
    ids=["zero", "negative", "fraction", "text", "boolean", "huge", "missing"],
)
def test_a_quantity_must_be_a_whole_number_in_range(quantity: Any) -> None:
    fields = errors_for(body(items=[{"product_id": 1, "quantity": quantity}]))

    assert fields == {"items[0].quantity": f"must be a whole number from 1 to {MAX_QUANTITY}"}


@pytest.mark.parametrize("product_id", [999, "1", 1.0, True, None, [1]])
def test_an_unknown_product_is_named(product_id: Any) -> None:
    fields = errors_for(body(items=[{"product_id": 1, "quantity": 1}, {"product_id": product_id, "quantity": 1}]))

    assert fields == {"items[1].product_id": "unknown product"}


def test_more_than_the_limit_of_one_product_across_lines_is_refused() -> None:
    fields = errors_for(body(items=[{"product_id": 1, "quantity": MAX_QUANTITY}, {"product_id": 1, "quantity": 1}]))

    assert "items" in fields


@pytest.mark.parametrize(
    ("items", "message"),
    [([], "the cart is empty"), (None, "the cart is empty"), ("1x kettle", "must be a list"), ({}, "must be a list")],
)
def test_the_cart_must_be_a_non_empty_list(items: Any, message: str) -> None:
    assert errors_for(body(items=items))["items"] == message


def test_a_missing_cart_is_an_empty_cart() -> None:
    candidate = body()
    del candidate["items"]

    assert errors_for(candidate)["items"] == "the cart is empty"


def test_too_many_lines_are_refused() -> None:
    items = [{"product_id": 1, "quantity": 1}] * (MAX_LINES + 1)

    assert "items" in errors_for(body(items=items))


def test_an_item_must_be_an_object() -> None:
    assert "items[0]" in errors_for(body(items=[1]))


@pytest.mark.parametrize("email", ["ada", "ada@", "@example.com", "ada@example", "ada @example.com", "a<b>@x.com"])
def test_a_bad_email_is_named(email: str) -> None:
    assert errors_for(body(email=email)) == {"email": "not a valid email address"}


@pytest.mark.parametrize("field", ["email", "name", "address"])
@pytest.mark.parametrize("value", [None, "", "   "], ids=["absent", "empty", "blank"])
def test_customer_fields_are_required(field: str, value: str | None) -> None:
    candidate = body(**{field: value})
    if value is None:
        del candidate[field]

    assert errors_for(candidate) == {field: "required"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", 42, "must be a string"),
        ("name", "x" * 201, "at most 200 characters"),
        ("address", "x" * 501, "at most 500 characters"),
        ("name", "Ada\x00Lovelace", "contains control characters"),
    ],
)
def test_customer_fields_must_be_reasonable_text(field: str, value: Any, message: str) -> None:
    assert errors_for(body(**{field: value})) == {field: message}


def test_a_multi_line_address_is_fine() -> None:
    assert parse_checkout(body(address="12 Analytical Row\nLondon"), CATALOG).customer.address.endswith("London")


@pytest.mark.parametrize("method", ["pm_card_amex", "4242424242424242", "", None, 7])
def test_only_known_payment_methods_are_accepted(method: Any) -> None:
    fields = errors_for(body(payment_method=method))

    assert list(fields) == ["payment_method"]


@pytest.mark.parametrize("candidate", [[], [body()], "order", 3, None])
def test_the_body_must_be_an_object(candidate: Any) -> None:
    assert errors_for(candidate) == {"body": "expected a JSON object"}


def test_every_wrong_field_is_named_at_once() -> None:
    fields = errors_for({"email": "nope", "items": [{"product_id": 999, "quantity": 0}], "payment_method": "cash"})

    assert set(fields) == {
        "email",
        "name",
        "address",
        "payment_method",
        "items[0].product_id",
        "items[0].quantity",
    }
