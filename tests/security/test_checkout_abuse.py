"""Checkout abuse: bursts are limited per client and overall, orders are capped per product, and the
JSON API takes only JSON from programs or the shop's own pages."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx2
import pytest

from app.shop.checkout_validation import DEFAULT_MAX_UNITS
from tests.app.storefront import CUSTOMER, Storefront, running_storefront
from tests.support.redis_server import RedisServer

LIMIT = 3


@pytest.fixture
def start(redis_server: RedisServer, tmp_path: Path) -> Iterator[Any]:
    """Start gateways of this test's own on one Redis and database, as web processes behind a load balancer."""
    with ExitStack() as stack:

        def started(env: Mapping[str, str]) -> Storefront:
            return stack.enter_context(running_storefront(redis_server.url, tmp_path, env=env))

        yield started


def assert_too_many(response: httpx2.Response) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 60


def checkout(storefront: Storefront, product_id: int, quantity: int = 1) -> httpx2.Response:
    return storefront.checkout([{"product_id": product_id, "quantity": quantity}])


def test_a_burst_of_checkouts_from_one_address_is_refused(start: Any) -> None:
    shop = start({"CHECKOUT_RATE_LIMIT": str(LIMIT)})
    product = shop.add_product(on_hand=100)

    answers = [checkout(shop, product.id).status_code for _ in range(LIMIT)]
    refused = checkout(shop, product.id)

    assert answers == [202] * LIMIT
    assert_too_many(refused)
    assert set(refused.json()["error"]) == {"message", "fields"}


def test_the_checkout_form_counts_against_the_same_budget(start: Any) -> None:
    shop = start({"CHECKOUT_RATE_LIMIT": str(LIMIT)})
    product = shop.add_product(on_hand=100)
    for _ in range(LIMIT):
        checkout(shop, product.id)
    token = shop.page_token("/")
    shop.http.post("/cart/add", data={"csrf_token": token, "product_id": str(product.id), "quantity": "1"})

    form = {**CUSTOMER, "payment_method": "pm_card_visa", "csrf_token": token, "idempotency_key": "k-form"}
    refused = shop.http.post("/checkout", data=form, follow_redirects=False)

    assert_too_many(refused)
    assert "text/html" in refused.headers["content-type"]


def test_checkouts_are_limited_overall_too(start: Any) -> None:
    shop = start({"CHECKOUT_RATE_LIMIT": "0", "CHECKOUT_RATE_LIMIT_TOTAL": str(LIMIT)})
    product = shop.add_product(on_hand=100)

    answers = [checkout(shop, product.id).status_code for _ in range(LIMIT)]

    assert answers == [202] * LIMIT
    assert_too_many(checkout(shop, product.id))


def test_the_budget_holds_across_web_processes(start: Any) -> None:
    env = {"CHECKOUT_RATE_LIMIT": str(LIMIT)}
    first, second = start(env), start(env)
    product = first.add_product(on_hand=100)

    answers = [checkout(web, product.id).status_code for web in (first, second, first)]

    assert answers == [202] * LIMIT
    assert_too_many(checkout(second, product.id))


def test_an_order_may_not_take_more_than_the_cap_of_one_product(storefront: Storefront) -> None:
    product = storefront.add_product(on_hand=500)

    response = checkout(storefront, product.id, DEFAULT_MAX_UNITS + 1)

    assert response.status_code == 422, response.text
    assert "items" in response.json()["error"]["fields"]
    assert storefront.product(product.id, available=500)


def test_the_cap_counts_every_line_of_the_same_product(storefront: Storefront) -> None:
    product = storefront.add_product(on_hand=500)
    half = DEFAULT_MAX_UNITS // 2 + 1

    response = storefront.checkout([{"product_id": product.id, "quantity": half}] * 2)

    assert response.status_code == 422, response.text


def test_an_order_up_to_the_cap_is_taken(storefront: Storefront) -> None:
    product = storefront.add_product(on_hand=500)

    assert checkout(storefront, product.id, DEFAULT_MAX_UNITS).status_code == 202


def test_the_shop_sets_its_own_cap(start: Any) -> None:
    shop = start({"MAX_UNITS_PER_PRODUCT": "2"})
    product = shop.add_product(on_hand=100)

    assert checkout(shop, product.id, 3).status_code == 422
    assert checkout(shop, product.id, 2).status_code == 202


# -- what the JSON API takes ---------------------------------------------------------------


def order_body(storefront: Storefront) -> bytes:
    product = storefront.add_product()
    body = {**CUSTOMER, "payment_method": "pm_card_visa", "items": [{"product_id": product.id, "quantity": 1}]}
    return json.dumps(body).encode()


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "text/json"])
@pytest.mark.parametrize("path", ["/api/orders", "/api/login"])
def test_the_json_api_takes_only_application_json(storefront: Storefront, path: str, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}

    response = storefront.http.post(path, content=order_body(storefront), headers=headers)

    assert response.status_code == 415, response.text
    assert set(response.json()["error"]) == {"message", "fields"}


def test_json_with_a_charset_is_json(storefront: Storefront) -> None:
    headers = {"Content-Type": "application/json; charset=utf-8"}

    assert storefront.http.post("/api/orders", content=order_body(storefront), headers=headers).status_code == 202


CROSS_SITE = {
    "foreign-origin": {"Origin": "http://evil.example"},
    "opaque-origin": {"Origin": "null"},
    "cross-site-fetch": {"Sec-Fetch-Site": "cross-site"},
    "sibling-site-fetch": {"Sec-Fetch-Site": "same-site"},
}


@pytest.mark.parametrize("headers", CROSS_SITE.values(), ids=CROSS_SITE.keys())
def test_a_page_of_another_site_cannot_check_out(storefront: Storefront, headers: dict[str, str]) -> None:
    sent = {"Content-Type": "text/plain", **headers}  # what a form or fetch() can send without a preflight

    plain = storefront.http.post("/api/orders", content=order_body(storefront), headers=sent)
    as_json = storefront.http.post(
        "/api/orders", content=order_body(storefront), headers={**sent, "Content-Type": "application/json"}
    )

    assert plain.status_code == 403, plain.text
    assert as_json.status_code == 403, as_json.text


def test_our_own_page_may_use_the_json_api(storefront: Storefront) -> None:
    headers = {"Content-Type": "application/json", "Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}

    assert storefront.http.post("/api/orders", content=order_body(storefront), headers=headers).status_code == 202
