"""``GET /api/openapi.json`` describes every route of the JSON API, and the app keeps to it.

schemathesis generates requests from the document (valid and invalid bodies, parameters,
headers) against a running gateway: no answer may be a 5xx, and every answer must match
the document's schema for its status.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from app.api.openapi import OPERATIONS, api_routes, document
from app.main import create_app
from tests.app.storefront import Storefront, running_storefront
from tests.security.routes import APP_ROUTES, ENDPOINTS
from tests.support.redis_server import RedisServer
from workers.eventing import Settings

DOCUMENT = document(create_app(Settings.from_env({})).routes)
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)


def documented() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, methods in DOCUMENT["paths"].items() for method in methods}


def test_every_api_route_of_the_app_is_in_the_document() -> None:
    routes = {(m, p) for m, p, _ in api_routes(APP_ROUTES)}
    assert len(routes) >= 12

    assert documented() == routes


def test_the_walk_sees_every_api_route_there_is() -> None:
    # The document is built from the app's routes; nothing under /api is left out by the walk.
    api = {e.path for e in ENDPOINTS if e.is_api and e.kind == "http"}
    assert {p for _, p in documented()} == {p.replace("{product_id:id}", "{product_id}") for p in api}


def test_an_operation_nobody_routes_is_not_documented() -> None:
    assert set(OPERATIONS) == documented()


def test_staff_routes_say_they_need_a_bearer_token_and_which_role() -> None:
    status = DOCUMENT["paths"]["/api/ops/status"]["get"]
    dispatch = DOCUMENT["paths"]["/api/warehouse/orders/{order_id}/dispatch"]["post"]
    products = DOCUMENT["paths"]["/api/products"]["get"]

    assert status["security"] == [{"bearer": []}] and {"401", "403"} <= set(status["responses"])
    assert "manager" in status["description"]
    assert "401" in dispatch["responses"] and "403" not in dispatch["responses"]
    assert "security" not in products


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storefront]:
    data_dir = tmp_path_factory.mktemp("openapi")
    server = RedisServer(data_dir / "redis")
    server.start()
    try:
        env = {"CHECKOUT_RATE_LIMIT": "0"}
        with running_storefront(server.url, data_dir, env=env) as storefront:
            storefront.add_product()
            yield storefront
    finally:
        server.kill()


@pytest.fixture(scope="module")
def manager_auth(gateway: Storefront) -> dict[str, str]:
    return {"Authorization": f"Bearer {gateway.manager_token()}"}


def test_the_document_is_served(gateway: Storefront) -> None:
    response = gateway.http.get("/api/openapi.json")

    assert response.status_code == 200
    assert response.json() == DOCUMENT


@SCHEMA.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_document(case: Any, gateway: Storefront, manager_auth: dict[str, str]) -> None:
    # Staff routes are called as a manager (a logout would end that session: it goes without).
    headers = {} if case.path == "/api/logout" else dict(manager_auth)
    gateway.http.cookies.clear()
    request = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    request.pop("cookies", None)  # the document declares none; httpx2 deprecates per-request cookies
    if isinstance(request.get("data"), bytes | str):  # raw bytes go as content in httpx2
        request["content"] = request.pop("data")
    response = gateway.http.request(**request)

    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
