"""One client cannot hurt the others: oversized bodies are refused with 413, login bursts with 429."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from app.http.limits import MAX_BODY_BYTES
from tests.app.storefront import CLERK_PASSWORD, CLERK_USER, Storefront
from tests.security.conftest import LOGIN_ATTEMPTS

WRONG = {"username": CLERK_USER, "password": "guess"}
RIGHT = {"username": CLERK_USER, "password": CLERK_PASSWORD}


def chunks(body: bytes, size: int = 8192) -> Iterator[bytes]:
    """The body as a stream of chunks: sent without a Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def json_body(size: int) -> bytes:
    """A JSON document of exactly ``size`` bytes."""
    return b'{"name": "' + b"x" * (size - 12) + b'"}'


def form_body(token: str, size: int) -> bytes:
    head = f"csrf_token={token}&name=".encode()
    return head + b"x" * (size - len(head))


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("path", ["/api/orders", "/api/login", "/api/warehouse/products/1/restock"])
def test_a_json_body_over_the_cap_is_refused(storefront: Storefront, path: str, streamed: bool) -> None:
    body = json_body(MAX_BODY_BYTES + 1)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {storefront.clerk_token()}"}

    response = storefront.http.post(path, content=chunks(body) if streamed else body, headers=headers)

    assert response.status_code == 413
    assert set(response.json()["error"]) == {"message", "fields"}


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("path", ["/cart/add", "/checkout", "/login", "/warehouse/products/1/restock"])
def test_a_form_over_the_cap_is_refused(storefront: Storefront, path: str, streamed: bool) -> None:
    storefront.browser_login()
    body = form_body(storefront.page_token("/"), MAX_BODY_BYTES + 1)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    response = storefront.http.post(path, content=chunks(body) if streamed else body, headers=headers)

    assert response.status_code == 413
    assert "text/html" in response.headers["content-type"]


def test_a_declared_length_over_the_cap_is_refused_before_the_body_is_read(storefront: Storefront) -> None:
    # What arrives is small; what the client announced is not, and that is enough to refuse.
    headers = {"Content-Type": "application/json", "Content-Length": str(MAX_BODY_BYTES + 1)}

    response = storefront.http.post("/api/orders", content=b"{}", headers=headers)

    assert response.status_code == 413


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
def test_a_body_at_the_cap_is_read(storefront: Storefront, streamed: bool) -> None:
    body = json_body(MAX_BODY_BYTES)

    response = storefront.http.post(
        "/api/orders", content=chunks(body) if streamed else body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422  # judged on its content, not its size


# -- login bursts ----------------------------------------------------------------------------


def assert_throttled(response: httpx2.Response) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 60


def test_a_burst_of_api_logins_is_throttled(throttled_storefront: Storefront) -> None:
    http = throttled_storefront.http

    answers = [http.post("/api/login", json=WRONG).status_code for _ in range(LOGIN_ATTEMPTS)]
    throttled = http.post("/api/login", json=WRONG)

    assert answers == [401] * LOGIN_ATTEMPTS
    assert_throttled(throttled)
    assert set(throttled.json()["error"]) == {"message", "fields"}


def test_a_burst_of_form_logins_is_throttled(throttled_storefront: Storefront) -> None:
    token = throttled_storefront.page_token("/login")
    http = throttled_storefront.http

    answers = [http.post("/login", data={**WRONG, "csrf_token": token}).status_code for _ in range(LOGIN_ATTEMPTS)]
    throttled = http.post("/login", data={**WRONG, "csrf_token": token})

    assert answers == [401] * LOGIN_ATTEMPTS
    assert_throttled(throttled)
    assert "text/html" in throttled.headers["content-type"]


def test_once_throttled_even_the_right_password_waits(throttled_storefront: Storefront) -> None:
    http = throttled_storefront.http
    for _ in range(LOGIN_ATTEMPTS):
        http.post("/api/login", json=WRONG)

    response = http.post("/api/login", json=RIGHT)

    assert_throttled(response)
    assert "token" not in response.text


def test_api_and_form_logins_share_one_budget_per_address(throttled_storefront: Storefront) -> None:
    token = throttled_storefront.page_token("/login")
    http = throttled_storefront.http
    for attempt in range(LOGIN_ATTEMPTS):
        if attempt % 2:
            http.post("/login", data={**WRONG, "csrf_token": token})
        else:
            http.post("/api/login", json=WRONG)

    assert_throttled(http.post("/login", data={**RIGHT, "csrf_token": token}))
    assert_throttled(http.post("/api/login", json=RIGHT))


def test_a_forwarded_for_header_does_not_buy_more_attempts(throttled_storefront: Storefront) -> None:
    # The web process does not trust proxy headers (uvicorn proxy_headers=False), nor does the throttle.
    http = throttled_storefront.http

    answers = [
        http.post("/api/login", json=WRONG, headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
        for n in range(LOGIN_ATTEMPTS + 1)
    ]

    assert answers[-1] == 429
