"""Cookies are Secure wherever the shop is public over https; sessions and bearer tokens end when idle,
at the end of their lifetime and at logout; the login budget holds across web processes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from app.auth import accounts
from app.auth.callers import SESSION_COOKIE
from app.auth.passwords import PRODUCTION_N
from app.http.client_id import CLIENT_COOKIE
from tests.app.browser import form_token
from tests.app.storefront import CLERK_PASSWORD, CLERK_USER, Storefront, running_storefront
from tests.security.test_sessions import cookie_attributes
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until

RIGHT = {"username": CLERK_USER, "password": CLERK_PASSWORD}
WRONG = {"username": CLERK_USER, "password": "guess"}


@pytest.fixture
def start(redis_server: RedisServer, tmp_path: Path) -> Iterator[Any]:
    """Start gateways of this test's own on one Redis and database (web processes behind a load balancer)."""
    with ExitStack() as stack:

        def started(env: Mapping[str, str]) -> Storefront:
            return stack.enter_context(running_storefront(redis_server.url, tmp_path, env=env, wait_for_hub=False))

        yield started


# -- Secure ----------------------------------------------------------------------------------


def cookies_set_by_a_visit_and_a_login(shop: Storefront) -> dict[str, set[str]]:
    """A first page (client cookie) and a form login (session cookie), over plain http.

    The cookie is sent back by hand: a client does not return a Secure cookie over http,
    as a browser behind a TLS-terminating proxy would (it sees https).
    """
    page = shop.http.get("/login")
    cookies = cookie_attributes(page)
    client = page.cookies[CLIENT_COOKIE]
    form = {**RIGHT, "csrf_token": form_token(page.text), "next": "/warehouse"}
    shop.http.cookies.clear()
    login = shop.http.post("/login", data=form, headers={"Cookie": f"{CLIENT_COOKIE}={client}"}, follow_redirects=False)
    assert login.status_code == 303, login.text
    cookies.update(cookie_attributes(login))
    assert {CLIENT_COOKIE, SESSION_COOKIE} <= set(cookies)
    return cookies


@pytest.mark.parametrize(
    "env",
    # Production refuses the suite's cheap password hashes.
    [{"SHOP_PUBLIC_URL": "https://testserver"}, {"SHOP_ENV": "production", "PASSWORD_SCRYPT_N": str(PRODUCTION_N)}],
    ids=["https-public-url", "production"],
)
def test_cookies_are_secure_behind_tls_or_in_production(start: Any, env: dict[str, str]) -> None:
    shop = start(env)

    for name, attributes in cookies_set_by_a_visit_and_a_login(shop).items():
        assert {"secure", "httponly", "samesite=lax"} <= attributes, name


# -- how long sessions and tokens live -------------------------------------------------------

POLICY = accounts.SessionPolicy(idle_s=600, lifetime_s=3600)
T0 = 1_900_000_000.0


def logged_in(storefront: Storefront) -> str:
    result = accounts.login(
        storefront.gateway.db,
        CLERK_USER,
        CLERK_PASSWORD,
        POLICY,
        now=T0,
        cost=storefront.gateway.settings.password_cost,
    )
    assert result is not None
    return result[0]


def alive(storefront: Storefront, token: str, at: float) -> bool:
    return accounts.session_for(storefront.gateway.db, token, POLICY, now=at) is not None


def test_a_session_left_idle_ends(storefront: Storefront) -> None:
    token = logged_in(storefront)

    assert not alive(storefront, token, T0 + POLICY.idle_s + 1)


def test_a_session_in_use_stays_alive_past_its_idle_time(storefront: Storefront) -> None:
    token = logged_in(storefront)
    used = [T0 + step * POLICY.idle_s * 0.8 for step in range(1, 4)]

    assert all(alive(storefront, token, at) for at in used)
    assert not alive(storefront, token, used[-1] + POLICY.idle_s + 1)


def test_a_session_in_use_still_ends_at_its_lifetime(storefront: Storefront) -> None:
    token = logged_in(storefront)
    step = POLICY.idle_s * 0.5

    uses = [T0 + n * step for n in range(1, int(POLICY.lifetime_s / step))]
    assert all(alive(storefront, token, at) for at in uses)
    assert not alive(storefront, token, T0 + POLICY.lifetime_s + 1)


def test_a_bearer_token_expires(start: Any) -> None:
    shop = start({"SESSION_LIFETIME_S": "1"})
    headers = {"Authorization": f"Bearer {shop.clerk_token()}"}

    def refused() -> bool:
        status: int = shop.http.get("/api/warehouse/orders", headers=headers).status_code
        return status == 401

    wait_until(refused, 15.0, "the bearer token to expire")


def test_logout_revokes_the_bearer_token_and_only_it(storefront: Storefront) -> None:
    mine, other = storefront.clerk_token(), storefront.clerk_token()

    storefront.http.post("/api/logout", headers={"Authorization": f"Bearer {mine}"})

    assert storefront.http.get("/api/warehouse/orders", headers={"Authorization": f"Bearer {mine}"}).status_code == 401
    assert storefront.http.get("/api/warehouse/orders", headers={"Authorization": f"Bearer {other}"}).status_code == 200


# -- the login throttle ----------------------------------------------------------------------


def test_the_login_budget_holds_across_web_processes(start: Any) -> None:
    env = {"LOGIN_ATTEMPTS_PER_MINUTE": "4"}
    first, second = start(env), start(env)

    answers = [web.http.post("/api/login", json=WRONG).status_code for web in (first, second, first, second)]
    refused = first.http.post("/api/login", json=RIGHT)

    assert answers == [401] * 4
    assert refused.status_code == 429
    assert "token" not in refused.text
