"""Every response says what may run and who may frame it; pages with a token or a session are never cached."""

from __future__ import annotations

import httpx2
import pytest

from tests.app.storefront import Storefront
from tests.security.hostile import assert_inert

SCRIPTS_FROM_SELF = "script-src 'self'"
NOT_FRAMED = "frame-ancestors 'none'"


def directives(response: httpx2.Response) -> set[str]:
    return {d.strip() for d in response.headers["content-security-policy"].split(";")}


def assert_protected(response: httpx2.Response) -> None:
    policy = directives(response)
    assert SCRIPTS_FROM_SELF in policy and NOT_FRAMED in policy, policy
    assert not any("unsafe-inline" in d or "unsafe-eval" in d for d in policy), policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def pages(storefront: Storefront) -> dict[str, httpx2.Response]:
    """Every kind of page and answer: the shop, the cart, an order (token in its URL), the clerk's console, ..."""
    placed = storefront.place_order(storefront.add_product())
    http = storefront.http
    answers = {
        "shop": http.get("/"),
        "cart": http.get("/cart"),
        "order": http.get(f"/orders/{placed.order_id}?token={placed.token}"),
        "order-api": http.get(f"/api/orders/{placed.order_id}?token={placed.token}"),
        "products-api": http.get("/api/products"),
        "login": http.get("/login"),
        "not-found": http.get("/no-such-page"),
        "api-error": http.post("/api/orders", json={}),
    }
    storefront.browser_login()
    answers["console"] = http.get("/warehouse")
    return answers


def test_every_page_and_answer_carries_the_security_headers(storefront: Storefront) -> None:
    for name, response in pages(storefront).items():
        assert response.status_code < 500, name
        assert_protected(response)


def test_no_page_or_answer_may_be_stored_by_a_cache(storefront: Storefront) -> None:
    for name, response in pages(storefront).items():
        assert response.headers["cache-control"] == "no-store", name


def test_pages_have_no_inline_script(storefront: Storefront) -> None:
    for name, response in pages(storefront).items():
        if "text/html" in response.headers["content-type"]:
            assert_inert(response.text)  # no inline <script>, no on...= handlers
            assert "<style" not in response.text, name


def test_htmx_is_told_not_to_insert_its_inline_style(storefront: Storefront) -> None:
    page = storefront.http.get("/").text

    assert '"includeIndicatorStyles": false' in page


@pytest.mark.parametrize("path", ["/static/htmx-2.0.11.min.js", "/static/style.css"])
def test_static_files_may_be_cached_but_not_sniffed(storefront: Storefront, path: str) -> None:
    response = storefront.http.get(path)

    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in response.headers.get("cache-control", "")


def test_a_form_post_under_no_referrer_is_still_known_as_our_own(storefront: Storefront) -> None:
    # With Referrer-Policy: no-referrer, a browser posts a form with "Origin: null"; the
    # Sec-Fetch-Site header, which no page can set, still says it came from our own page.
    token = storefront.page_token("/login")
    headers = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}

    response = storefront.http.post(
        "/login", data={"csrf_token": token, "username": "x", "password": "y"}, headers=headers
    )

    assert response.status_code == 401  # judged on the password, not refused as foreign
