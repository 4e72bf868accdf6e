"""Clerks and managers log in for a bearer token; the clerk endpoints refuse everyone else with 401."""

from __future__ import annotations

from typing import Any

import pytest

from app.auth import accounts
from app.settings import ConfigurationError, clerk_credentials, manager_credentials
from tests.app.storefront import CLERK_PASSWORD, CLERK_USER, Storefront
from workers.eventing import Settings


def test_a_clerk_logs_in_for_a_token(storefront: Storefront) -> None:
    response = storefront.http.post("/api/login", json={"username": CLERK_USER, "password": CLERK_PASSWORD})

    assert response.status_code == 200
    assert len(response.json()["token"]) >= 20


def test_every_login_gets_its_own_token(storefront: Storefront) -> None:
    assert storefront.clerk_token() != storefront.clerk_token()


@pytest.mark.parametrize(
    "credentials",
    [{"username": CLERK_USER, "password": "wrong"}, {"username": "nobody", "password": CLERK_PASSWORD}],
    ids=["wrong-password", "unknown-user"],
)
def test_wrong_credentials_are_refused(storefront: Storefront, credentials: dict[str, str]) -> None:
    response = storefront.http.post("/api/login", json=credentials)

    assert response.status_code == 401
    assert "token" not in response.json()
    assert set(response.json()["error"]) == {"message", "fields"}


@pytest.mark.parametrize(
    ("body", "field"),
    [({"username": CLERK_USER}, "password"), ({"password": CLERK_PASSWORD}, "username"), ([], "body")],
    ids=["no-password", "no-username", "not-an-object"],
)
def test_a_login_without_credentials_is_invalid(storefront: Storefront, body: Any, field: str) -> None:
    response = storefront.http.post("/api/login", json=body)

    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-session"},
        {"Authorization": "Basic Y2xlcms6Y2xlcms="},
        {"Authorization": "Bearer"},
    ],
    ids=["none", "unknown-token", "basic-auth", "empty-bearer"],
)
def test_clerk_endpoints_refuse_anyone_else(storefront: Storefront, headers: dict[str, str]) -> None:
    response = storefront.http.get("/api/warehouse/orders", headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert set(response.json()["error"]) == {"message", "fields"}


def test_a_clerk_with_a_token_sees_the_warehouse_orders(storefront: Storefront) -> None:
    token = storefront.clerk_token()

    response = storefront.http.get("/api/warehouse/orders", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert isinstance(response.json()["orders"], list)


def test_a_token_stops_working_after_logout(storefront: Storefront) -> None:
    auth = {"Authorization": f"Bearer {storefront.clerk_token()}"}

    assert storefront.http.post("/api/logout", headers=auth).status_code == 204

    assert storefront.http.get("/api/warehouse/orders", headers=auth).status_code == 401


def test_the_dev_clerk_is_the_default() -> None:
    settings = Settings.from_env({"DATA_DIR": "/nonexistent"})

    assert clerk_credentials(settings) == (accounts.DEV_USER, accounts.DEV_PASSWORD)


def test_production_refuses_to_start_with_the_dev_password() -> None:
    with pytest.raises(ConfigurationError):
        clerk_credentials(Settings.from_env({"SHOP_ENV": "production"}))

    chosen = Settings.from_env({"SHOP_ENV": "production", "SHOP_CLERK_PASSWORD": "long and secret"})
    assert clerk_credentials(chosen) == (accounts.DEV_USER, "long and secret")


def test_a_manager_logs_in_for_a_token_that_opens_the_clerk_endpoints(storefront: Storefront) -> None:
    token = storefront.manager_token()

    response = storefront.http.get("/api/warehouse/orders", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert isinstance(response.json()["orders"], list)


def test_the_dev_manager_is_the_default() -> None:
    settings = Settings.from_env({"DATA_DIR": "/nonexistent"})

    assert manager_credentials(settings) == (accounts.DEV_MANAGER_USER, accounts.DEV_MANAGER_PASSWORD)


def test_production_refuses_to_start_with_the_dev_manager_password() -> None:
    clerk = {"SHOP_ENV": "production", "SHOP_CLERK_PASSWORD": "long and secret"}
    with pytest.raises(ConfigurationError, match="SHOP_MANAGER_PASSWORD"):
        manager_credentials(Settings.from_env(clerk))

    chosen = Settings.from_env({**clerk, "SHOP_MANAGER_PASSWORD": "longer and more secret"})
    assert manager_credentials(chosen) == (accounts.DEV_MANAGER_USER, "longer and more secret")


def test_the_manager_and_the_clerk_are_two_accounts() -> None:
    with pytest.raises(ConfigurationError):
        manager_credentials(Settings.from_env({"SHOP_CLERK_USER": "sam", "SHOP_MANAGER_USER": "sam"}))
