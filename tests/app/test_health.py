"""``GET /healthz``: 200 while the web process reaches Redis and its database, 503 otherwise."""

from __future__ import annotations

from tests.app.storefront import Storefront, eventually
from tests.support.redis_server import RedisServer


def test_a_healthy_gateway_says_ok(storefront: Storefront) -> None:
    response = storefront.http.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert (body["redis"], body["database"]) == ("ok", "ok")
    assert isinstance(body["outbox_backlog"], int)


def test_without_redis_the_gateway_is_unavailable_until_it_is_back(
    own_storefront: Storefront, redis_server: RedisServer
) -> None:
    redis_server.kill()

    down = own_storefront.http.get("/healthz")

    assert down.status_code == 503
    assert down.json()["status"] != "ok"
    assert down.json()["redis"].startswith("unreachable")
    assert down.json()["database"] == "ok"

    redis_server.restart()

    eventually(lambda: own_storefront.http.get("/healthz").status_code == 200, "healthz to recover")
    assert own_storefront.http.get("/healthz").json()["status"] == "ok"
