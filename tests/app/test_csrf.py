"""Browser forms must come from our own pages: the CSRF token, and no foreign Origin or Sec-Fetch-Site."""

from __future__ import annotations

import pytest

from app.auth.csrf import CSRF_COOKIE
from tests.app.storefront import CLERK_PASSWORD, CLERK_USER, Storefront, eventually
from workers.contracts.orders import OrderConfirmed

LOGIN = {"username": CLERK_USER, "password": CLERK_PASSWORD}


def test_the_csrf_cookie_is_http_only_and_same_site(storefront: Storefront) -> None:
    response = storefront.http.get("/login")

    [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{CSRF_COOKIE}=")]
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax"} <= attributes


def test_a_browser_keeps_its_token_across_pages(storefront: Storefront) -> None:
    assert storefront.page_token("/login") == storefront.page_token("/") == storefront.page_token("/cart")


def test_a_form_with_the_token_is_accepted(storefront: Storefront) -> None:
    token = storefront.page_token("/login")

    response = storefront.http.post("/login", data={**LOGIN, "csrf_token": token}, follow_redirects=False)

    assert response.status_code == 303


def test_a_form_without_the_token_is_forbidden(storefront: Storefront) -> None:
    storefront.page_token("/login")  # the browser has the cookie, the form lacks the field

    response = storefront.http.post("/login", data=LOGIN, follow_redirects=False)

    assert response.status_code == 403


def test_a_form_whose_token_does_not_match_the_cookie_is_forbidden(storefront: Storefront) -> None:
    storefront.page_token("/login")

    response = storefront.http.post("/login", data={**LOGIN, "csrf_token": "forged"}, follow_redirects=False)

    assert response.status_code == 403


def test_a_token_without_its_cookie_is_forbidden(storefront: Storefront) -> None:
    token = storefront.page_token("/login")
    storefront.http.cookies.clear()

    response = storefront.http.post("/login", data={**LOGIN, "csrf_token": token}, follow_redirects=False)

    assert response.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}],
    ids=["foreign-origin", "opaque-origin", "cross-site-fetch"],
)
def test_a_form_posted_from_another_site_is_forbidden_even_with_the_token(
    storefront: Storefront, headers: dict[str, str]
) -> None:
    token = storefront.page_token("/login")

    response = storefront.http.post(
        "/login", data={**LOGIN, "csrf_token": token}, headers=headers, follow_redirects=False
    )

    assert response.status_code == 403
    assert storefront.http.cookies.get("storefront_session") is None


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://testserver"}, {"Sec-Fetch-Site": "same-origin"}],
    ids=["own-origin", "same-origin-fetch"],
)
def test_a_form_from_our_own_page_is_accepted(storefront: Storefront, headers: dict[str, str]) -> None:
    token = storefront.page_token("/login")

    response = storefront.http.post(
        "/login", data={**LOGIN, "csrf_token": token}, headers=headers, follow_redirects=False
    )

    assert response.status_code == 303


def test_htmx_posts_may_send_the_token_as_a_header(storefront: Storefront) -> None:
    product = storefront.add_product()
    token = storefront.page_token("/")

    response = storefront.http.post(
        "/cart/add",
        data={"product_id": str(product.id), "quantity": "1"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )

    assert response.status_code == 200
    assert 'id="cart-count"' in response.text


def test_a_cross_site_dispatch_by_a_logged_in_clerk_is_forbidden(storefront: Storefront) -> None:
    placed = storefront.place_order(storefront.add_product())
    storefront.announce_order(OrderConfirmed, placed, version=2)
    eventually(lambda: storefront.order_status(placed, "confirmed"), "the order to be confirmed")
    storefront.browser_login()
    token = storefront.page_token("/warehouse")

    without_token = storefront.http.post(f"/warehouse/orders/{placed.order_id}/dispatch", follow_redirects=False)
    foreign = storefront.http.post(
        f"/warehouse/orders/{placed.order_id}/dispatch",
        data={"csrf_token": token},
        headers={"Origin": "http://evil.example"},
        follow_redirects=False,
    )

    assert (without_token.status_code, foreign.status_code) == (403, 403)
    assert storefront.order(placed)["dispatch_requested"] is False


def test_the_token_changes_at_login(storefront: Storefront) -> None:
    before = storefront.page_token("/login")

    storefront.browser_login()

    assert storefront.page_token("/warehouse") != before
