"""Every unsafe page route refuses a post that did not come from our own page, as a form and as htmx."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx2
import pytest
from sqlalchemy import func, select

from app.auth.callers import SESSION_COOKIE
from app.auth.csrf import CSRF_COOKIE
from tests.app.storefront import CLERK_PASSWORD, CLERK_USER, CUSTOMER, Storefront, eventually
from workers.contracts.orders import OrderConfirmed


@dataclass(frozen=True)
class Attempt:
    """A post a browser is about to make: where, what (without the CSRF token), and its token."""

    path: str
    fields: dict[str, str]
    token: str
    succeeded: dict[str, int] = field(default_factory=lambda: {"form": 303, "htmx": 303})


def _in_cart(storefront: Storefront) -> int:
    product = storefront.add_product()
    token = storefront.page_token("/")
    added = storefront.http.post(
        "/cart/add", data={"csrf_token": token, "product_id": str(product.id), "quantity": "1"}
    )
    assert added.status_code == 200, added.text
    return product.id


def add_to_cart(storefront: Storefront) -> Attempt:
    product = storefront.add_product()
    fields = {"product_id": str(product.id), "quantity": "1"}
    return Attempt("/cart/add", fields, storefront.page_token("/"), {"form": 303, "htmx": 200})


def remove_from_cart(storefront: Storefront) -> Attempt:
    product_id = _in_cart(storefront)
    return Attempt("/cart/remove", {"product_id": str(product_id)}, storefront.page_token("/cart"))


def checkout(storefront: Storefront) -> Attempt:
    _in_cart(storefront)
    fields = {**CUSTOMER, "payment_method": "pm_card_visa", "idempotency_key": secrets.token_hex(8)}
    return Attempt("/checkout", fields, storefront.page_token("/cart"))


def login(storefront: Storefront) -> Attempt:
    fields = {"username": CLERK_USER, "password": CLERK_PASSWORD, "next": "/warehouse"}
    return Attempt("/login", fields, storefront.page_token("/login"))


def logout(storefront: Storefront) -> Attempt:
    storefront.browser_login()
    return Attempt("/logout", {}, storefront.page_token("/warehouse"))


def dispatch(storefront: Storefront) -> Attempt:
    placed = storefront.place_order(storefront.add_product())
    storefront.announce_order(OrderConfirmed, placed, version=2)
    eventually(lambda: storefront.order_status(placed, "confirmed"), "the order to be confirmed")
    storefront.browser_login()
    path = f"/warehouse/orders/{placed.order_id}/dispatch"
    return Attempt(path, {}, storefront.page_token("/warehouse"), {"form": 303, "htmx": 200})


def restock(storefront: Storefront) -> Attempt:
    product = storefront.add_product()
    storefront.browser_login()
    path = f"/warehouse/products/{product.id}/restock"
    return Attempt(path, {"quantity": "5"}, storefront.page_token("/warehouse"), {"form": 303, "htmx": 204})


UNSAFE_ROUTES: dict[str, Callable[[Storefront], Attempt]] = {
    "cart-add": add_to_cart,
    "cart-remove": remove_from_cart,
    "checkout": checkout,
    "login": login,
    "logout": logout,
    "dispatch": dispatch,
    "restock": restock,
}
MODES = ("form", "htmx")


@dataclass(frozen=True)
class Forgery:
    """How a post differs from the one our own page would make."""

    token: Callable[[str], str | None] = lambda token: token
    headers: dict[str, str] = field(default_factory=dict)
    drop_cookie: bool = False


FORGERIES = {
    "no-token": Forgery(token=lambda _token: None),
    "wrong-token": Forgery(token=lambda _token: secrets.token_urlsafe(24)),
    "token-without-its-cookie": Forgery(drop_cookie=True),
    "foreign-origin": Forgery(headers={"Origin": "http://evil.example"}),
    "look-alike-origin": Forgery(headers={"Origin": "http://testserver.evil.example"}),
    "opaque-origin": Forgery(headers={"Origin": "null"}),
    "cross-site-fetch": Forgery(headers={"Sec-Fetch-Site": "cross-site"}),
}


def post(
    storefront: Storefront, attempt: Attempt, mode: str, token: str | None, headers: dict[str, str] | None = None
) -> httpx2.Response:
    """Post as a form (token in a field) or as htmx does (token in the ``X-CSRF-Token`` header)."""
    fields, sent_headers = dict(attempt.fields), dict(headers or {})
    if mode == "htmx":
        sent_headers["HX-Request"] = "true"
        if token is not None:
            sent_headers["X-CSRF-Token"] = token
    elif token is not None:
        fields["csrf_token"] = token
    return storefront.http.post(attempt.path, data=fields, headers=sent_headers, follow_redirects=False)


def outbox_rows(storefront: Storefront) -> int:
    """Everything the gateway ever recorded for other services (checkouts, dispatches, restocks)."""
    table = storefront.gateway.outbox.table
    with storefront.gateway.db.snapshot() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("route", UNSAFE_ROUTES.values(), ids=UNSAFE_ROUTES.keys())
def test_a_post_that_did_not_come_from_our_page_is_forbidden_and_changes_nothing(
    storefront: Storefront, route: Callable[[Storefront], Attempt], mode: str, forgery: Forgery
) -> None:
    attempt = route(storefront)
    if forgery.drop_cookie:
        storefront.http.cookies.delete(CSRF_COOKIE)
    session = storefront.http.cookies.get(SESSION_COOKIE)
    recorded = outbox_rows(storefront)

    response = post(storefront, attempt, mode, forgery.token(attempt.token), forgery.headers)

    assert response.status_code == 403, response.text
    assert "set-cookie" not in response.headers  # no cart, no session, no logout
    assert outbox_rows(storefront) == recorded  # no checkout, dispatch or restock
    if session is not None:  # a clerk's session survives a forged logout
        assert storefront.http.get("/warehouse", follow_redirects=False).status_code == 200


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("route", UNSAFE_ROUTES.values(), ids=UNSAFE_ROUTES.keys())
def test_a_post_from_our_own_page_with_its_token_succeeds(
    storefront: Storefront, route: Callable[[Storefront], Attempt], mode: str
) -> None:
    attempt = route(storefront)

    response = post(storefront, attempt, mode, attempt.token, {"Origin": "http://testserver"})

    assert response.status_code == attempt.succeeded[mode], response.text
    assert not response.headers.get("location", "").startswith("/login")
