"""A clerk's session: cookies scripts cannot read nor other sites send, a new id at every login, ended at logout."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx2
import pytest
from starlette.websockets import WebSocketDisconnect

from app.auth.callers import SESSION_COOKIE
from app.auth.csrf import CSRF_COOKIE
from app.shop.cart import CART_COOKIE
from tests.app.storefront import CLERK_PASSWORD, CLERK_USER, Storefront


def cookie_attributes(response: httpx2.Response) -> dict[str, set[str]]:
    """The attributes (lower case, values included) of each cookie the response sets."""
    found: dict[str, set[str]] = {}
    for header in response.headers.get_list("set-cookie"):
        name_value, *attributes = (part.strip() for part in header.split(";"))
        found[name_value.split("=", 1)[0]] = {a.lower() for a in attributes}
    return found


def set_cookies(storefront: Storefront) -> dict[str, set[str]]:
    """Log in and fill a cart through the pages; every cookie they set, with its attributes."""
    cookies = cookie_attributes(storefront.http.get("/login"))
    cookies.update(cookie_attributes(storefront.browser_login()))
    product = storefront.add_product()
    token = storefront.page_token("/")
    added = storefront.http.post(
        "/cart/add", data={"csrf_token": token, "product_id": str(product.id), "quantity": "1"}, follow_redirects=False
    )
    cookies.update(cookie_attributes(added))
    assert {SESSION_COOKIE, CSRF_COOKIE, CART_COOKIE} <= set(cookies)
    return cookies


def opens_console(storefront: Storefront, session: str) -> bool:
    """Whether a browser with only this session cookie gets the warehouse console."""
    storefront.http.cookies.clear()
    storefront.http.cookies.set(SESSION_COOKIE, session)
    response = storefront.http.get("/warehouse", follow_redirects=False)
    assert response.status_code in (200, 303), response.text
    return response.status_code == 200


def test_every_cookie_is_http_only_and_same_site_lax(storefront: Storefront) -> None:
    for name, attributes in set_cookies(storefront).items():
        assert {"httponly", "samesite=lax", "path=/"} <= attributes, name


def test_cookies_are_not_marked_secure_over_plain_http(storefront: Storefront) -> None:
    # Marked Secure, a browser on http://127.0.0.1 (make run) would drop them and never stay logged in.
    for name, attributes in set_cookies(storefront).items():
        assert "secure" not in attributes, name


def test_every_cookie_is_secure_when_served_over_https(https_storefront: Storefront) -> None:
    https_storefront.http.cookies.clear()

    for name, attributes in set_cookies(https_storefront).items():
        assert {"secure", "httponly", "samesite=lax"} <= attributes, name


def test_the_session_cookie_lasts_no_longer_than_the_session(storefront: Storefront) -> None:
    [max_age] = [a for a in cookie_attributes(storefront.browser_login())[SESSION_COOKIE] if a.startswith("max-age=")]

    assert 0 < int(max_age.split("=")[1]) <= 12 * 3600


def test_a_new_login_gets_a_new_session_id_and_ends_the_old_one(storefront: Storefront) -> None:
    storefront.browser_login()
    first = storefront.http.cookies[SESSION_COOKIE]

    storefront.browser_login()
    second = storefront.http.cookies[SESSION_COOKIE]

    assert second != first
    assert not opens_console(storefront, first)
    assert opens_console(storefront, second)


def test_a_session_id_planted_before_login_is_not_the_one_after_it(storefront: Storefront) -> None:
    storefront.http.cookies.set(SESSION_COOKIE, "planted-by-an-attacker", domain="testserver.local")

    storefront.browser_login()

    assert storefront.http.cookies[SESSION_COOKIE] != "planted-by-an-attacker"
    assert not opens_console(storefront, "planted-by-an-attacker")


def test_logout_ends_the_session_for_every_copy_of_its_cookie(storefront: Storefront) -> None:
    storefront.browser_login()
    session = storefront.http.cookies[SESSION_COOKIE]
    token = storefront.page_token("/warehouse")

    response = storefront.http.post("/logout", data={"csrf_token": token}, follow_redirects=False)

    assert response.status_code == 303
    assert SESSION_COOKIE not in storefront.http.cookies  # the browser forgets it...
    assert not opens_console(storefront, session)  # ...and a stolen copy opens nothing
    with pytest.raises(WebSocketDisconnect):
        storefront.http.websocket_connect("/live/console").__enter__()


def test_an_api_logout_ends_the_bearer_token(storefront: Storefront) -> None:
    token = storefront.clerk_token()
    headers = {"Authorization": f"Bearer {token}"}
    assert storefront.http.get("/api/warehouse/orders", headers=headers).status_code == 200

    assert storefront.http.post("/api/logout", headers=headers).status_code == 204

    assert storefront.http.get("/api/warehouse/orders", headers=headers).status_code == 401


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "/\t/evil.example/",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_login_never_sends_the_clerk_to_another_site(storefront: Storefront, target: str) -> None:
    token = storefront.page_token("/login")
    form = {"csrf_token": token, "username": CLERK_USER, "password": CLERK_PASSWORD, "next": target}

    response = storefront.http.post("/login", data=form, follow_redirects=False)

    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert urlsplit(location).netloc == "" and urlsplit(location).scheme == ""
