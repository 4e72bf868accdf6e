"""Idempotency keys belong to the client that sent them: another client's key never returns its order."""

from __future__ import annotations

import secrets
from typing import Any

from app.http.client_id import CLIENT_COOKIE
from tests.app.storefront import Storefront


def new_browser(storefront: Storefront) -> str:
    """Forget every cookie and open the shop, as a browser seen for the first time; its client cookie."""
    storefront.http.cookies.clear()
    assert storefront.http.get("/").status_code == 200
    cookie: str = storefront.http.cookies[CLIENT_COOKIE]
    return cookie


def checkout(storefront: Storefront, product_id: int, key: str) -> dict[str, Any]:
    response = storefront.checkout([{"product_id": product_id, "quantity": 1}], key=key)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_browser_gets_a_client_cookie_on_its_first_page(storefront: Storefront) -> None:
    first = new_browser(storefront)

    storefront.http.get("/cart")

    assert storefront.http.cookies[CLIENT_COOKIE] == first


def test_another_clients_key_does_not_return_the_shoppers_order(storefront: Storefront) -> None:
    product, key = storefront.add_product(), secrets.token_hex(8)
    new_browser(storefront)
    shoppers = checkout(storefront, product.id, key)

    new_browser(storefront)  # the attacker, who has learnt the key
    attackers = checkout(storefront, product.id, key)

    assert attackers["order_id"] != shoppers["order_id"]
    assert attackers["token"] != shoppers["token"]


def test_a_program_without_cookies_does_not_get_a_browsers_order(storefront: Storefront) -> None:
    product, key = storefront.add_product(), secrets.token_hex(8)
    new_browser(storefront)
    shoppers = checkout(storefront, product.id, key)

    storefront.http.cookies.clear()  # same address, no cookie: scoped to the address
    program = checkout(storefront, product.id, key)

    assert program["order_id"] != shoppers["order_id"]


def test_the_same_client_resending_its_key_gets_its_own_order_back(storefront: Storefront) -> None:
    product, key = storefront.add_product(), secrets.token_hex(8)
    new_browser(storefront)

    first, again = checkout(storefront, product.id, key), checkout(storefront, product.id, key)

    assert again == first


def test_a_program_resending_its_key_from_the_same_address_gets_its_order_back(storefront: Storefront) -> None:
    product, key = storefront.add_product(), secrets.token_hex(8)
    storefront.http.cookies.clear()

    first, again = checkout(storefront, product.id, key), checkout(storefront, product.id, key)

    assert again == first
