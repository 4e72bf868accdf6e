"""Staff find orders by id prefix, email, status and day, a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.app.storefront import Storefront
from workers.eventing.ids import uuid7


@pytest.fixture
def clerk(storefront: Storefront) -> dict[str, str]:
    return {"Authorization": f"Bearer {storefront.clerk_token()}"}


def search(storefront: Storefront, clerk: dict[str, str], **params: Any) -> dict[str, Any]:
    response = storefront.http.get("/api/warehouse/orders", params=params, headers=clerk)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def orders_of(storefront: Storefront, email: str, count: int) -> list[str]:
    product = storefront.add_product()
    placed = []
    for _ in range(count):
        response = storefront.checkout([{"product_id": product.id, "quantity": 1}], email=email)
        assert response.status_code == 202, response.text
        placed.append(response.json()["order_id"])
    return placed


def test_orders_are_found_by_email_a_page_at_a_time_newest_first(storefront: Storefront, clerk: dict[str, str]) -> None:
    email = f"pager-{uuid7()[-8:]}@example.com"
    placed = orders_of(storefront, email, 5)

    pages, cursor = [], None
    while True:
        params = {"status": "", "q": email.upper(), "limit": "2", **({"cursor": cursor} if cursor else {})}
        answer = search(storefront, clerk, **params)
        pages.append([o["order_id"] for o in answer["orders"]])
        cursor = answer["next_cursor"]
        if cursor is None:
            break

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [order_id for page in pages for order_id in page] == sorted(placed, reverse=True)


def test_an_order_is_found_by_a_prefix_of_its_id(storefront: Storefront, clerk: dict[str, str]) -> None:
    email = f"prefix-{uuid7()[-8:]}@example.com"
    [order_id] = orders_of(storefront, email, 1)

    found = search(storefront, clerk, status="", q=order_id[:-4])["orders"]

    assert order_id in [o["order_id"] for o in found]
    assert all(o["order_id"].startswith(order_id[:-4]) for o in found)


def test_status_and_day_narrow_the_search(storefront: Storefront, clerk: dict[str, str]) -> None:
    email = f"days-{uuid7()[-8:]}@example.com"
    [order_id] = orders_of(storefront, email, 1)
    today = datetime.now(UTC).date()

    assert [o["order_id"] for o in search(storefront, clerk, status="pending", q=email)["orders"]] == [order_id]
    assert search(storefront, clerk, status="confirmed", q=email)["orders"] == []
    assert len(search(storefront, clerk, status="", q=email, **{"from": str(today), "to": str(today)})["orders"]) == 1
    tomorrow = str(today + timedelta(days=1))
    assert search(storefront, clerk, status="", q=email, **{"from": tomorrow})["orders"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [({"cursor": "not-a-cursor"}, "cursor"), ({"from": "yesterday"}, "from"), ({"limit": "0"}, "limit")],
)
def test_bad_search_parameters_are_422_naming_them(
    storefront: Storefront, clerk: dict[str, str], params: dict[str, str], field: str
) -> None:
    response = storefront.http.get("/api/warehouse/orders", params=params, headers=clerk)

    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]


def test_the_console_search_page_lists_what_it_finds(storefront: Storefront) -> None:
    email = f"console-{uuid7()[-8:]}@example.com"
    [order_id] = orders_of(storefront, email, 1)
    storefront.browser_login()

    page = storefront.http.get("/warehouse/orders", params={"q": email})

    assert page.status_code == 200
    assert f'id="found-{order_id}"' in page.text
