"""``GET /healthz``: 200 while the web process reaches Redis and its database and the projector
keeps up, 503 otherwise."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.app.storefront import Storefront, eventually, running_storefront
from tests.support.redis_server import RedisServer


def test_a_healthy_gateway_says_ok(storefront: Storefront) -> None:
    response = storefront.http.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert (body["redis"], body["database"], body["live_readers"]) == ("ok", "ok", "ok")
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


def test_healthz_is_unavailable_while_the_projector_lags_beyond_its_bound_and_ok_once_it_caught_up(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with running_storefront(redis_server.url, tmp_path, env={"HEALTH_MAX_PROJECTOR_LAG": "3"}) as storefront:
        product = storefront.add_product(on_hand=10)
        eventually(lambda: storefront.http.get("/healthz").status_code == 200, "healthz once caught up")
        storefront.projector.stop()  # the projector process is down; the web process goes on

        for n in range(1, 5):
            storefront.change_stock(product, on_hand=10 + n, version=1 + n, delta_on_hand=1)

        lagging = storefront.http.get("/healthz")
        assert lagging.status_code == 503
        assert lagging.json()["projector_lag"] == 4
        assert lagging.json()["projector"].startswith("lagging")
        assert (lagging.json()["redis"], lagging.json()["database"]) == ("ok", "ok")

        storefront.projector.start()

        eventually(lambda: storefront.http.get("/healthz").status_code == 200, "healthz once caught up again")
        assert storefront.http.get("/healthz").json()["projector_lag"] == 0
        assert storefront.product(product.id, on_hand=14)


def test_a_gateway_whose_live_reader_died_is_unavailable(own_storefront: Storefront) -> None:
    hub = own_storefront.gateway.hub
    assert own_storefront.http.get("/healthz").json()["live_readers"] == "ok"

    async def kill_the_stock_reader() -> None:
        [task] = [t for t in hub._tasks if t.get_name() == "hub-stock"]
        task.cancel()  # as if it had died of something no supervisor catches
        await asyncio.wait([task], timeout=5)

    portal = own_storefront.http.portal
    assert portal is not None  # the app runs (its lifespan started) on the TestClient's portal
    portal.call(kill_the_stock_reader)
    response = own_storefront.http.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["live_readers"] == "stopped: stock"
    assert (response.json()["redis"], response.json()["database"]) == ("ok", "ok")
