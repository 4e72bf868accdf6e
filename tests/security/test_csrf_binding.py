"""A CSRF token is bound to the browser and its session: a planted cookie or a borrowed token forges nothing."""

from __future__ import annotations

import pytest

from app.auth.csrf import CSRF_COOKIE
from tests.app.browser import hx_headers
from tests.app.storefront import Storefront
from tests.security.test_csrf import outbox_rows


def restock_as_clerk(storefront: Storefront, token: str) -> int:
    """Post a restock form with ``token`` from the logged-in clerk's browser; the status."""
    product = storefront.add_product()
    response = storefront.http.post(
        f"/warehouse/products/{product.id}/restock",
        data={"csrf_token": token, "quantity": "5"},
        follow_redirects=False,
    )
    return response.status_code


def plant(storefront: Storefront, value: str) -> None:
    """Overwrite the browser's CSRF cookie, as a sibling subdomain or a network attacker can."""
    storefront.http.cookies.delete(CSRF_COOKIE)
    storefront.http.cookies.set(CSRF_COOKIE, value, domain="testserver.local")


def test_a_planted_cookie_with_a_matching_field_is_forbidden(storefront: Storefront) -> None:
    storefront.browser_login()
    plant(storefront, "a")
    recorded = outbox_rows(storefront)

    assert restock_as_clerk(storefront, "a") == 403
    assert outbox_rows(storefront) == recorded


def test_another_browsers_cookie_and_token_are_forbidden_in_a_clerks_session(storefront: Storefront) -> None:
    # The attacker's own browser: a genuine cookie and the token its pages carry.
    attackers_token = storefront.page_token("/login")
    attackers_cookie = storefront.http.cookies[CSRF_COOKIE]
    storefront.http.cookies.clear()
    storefront.browser_login()  # the clerk, in the victim's browser
    plant(storefront, attackers_cookie)
    recorded = outbox_rows(storefront)

    assert restock_as_clerk(storefront, attackers_token) == 403
    assert outbox_rows(storefront) == recorded


def test_a_token_from_before_login_does_not_serve_the_session(storefront: Storefront) -> None:
    anonymous = storefront.page_token("/login")
    storefront.browser_login()

    assert restock_as_clerk(storefront, anonymous) == 403
    assert restock_as_clerk(storefront, storefront.page_token("/warehouse")) == 303


@pytest.mark.parametrize(
    "token",
    ["", "x" * 10_000, "é" * 43, "a\x00" * 20, "A" * 42 + "=", "../" * 15],
    ids=["empty", "long", "non-ascii", "nul", "padded", "path"],
)
def test_a_malformed_token_is_forbidden(storefront: Storefront, token: str) -> None:
    storefront.browser_login()

    assert restock_as_clerk(storefront, token) == 403


@pytest.mark.parametrize("planted", ['x"}<b>', "x'><b>", 'x\\"'])
def test_hx_headers_stay_json_whatever_cookie_is_planted(storefront: Storefront, planted: str) -> None:
    storefront.http.cookies.clear()

    page = storefront.http.get("/", headers={"Cookie": f"{CSRF_COOKIE}={planted}"})

    assert page.status_code == 200
    headers = hx_headers(page.text)
    assert set(headers) == {"X-CSRF-Token"}
    assert planted not in headers["X-CSRF-Token"]
    assert "<b>" not in page.text
