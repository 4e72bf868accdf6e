"""Checkout goes to the gateway's own database and outbox: it works while Redis is down, and a busy database says so."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.app.storefront import Storefront, eventually, running_storefront
from tests.support.redis_server import RedisServer
from workers.eventing.database import Busy

BUSY_TIMEOUT_MS = 200
START_ATTEMPTS = 3


def test_checkouts_taken_while_redis_is_down_reach_the_stream_in_order_once_it_is_back(
    own_storefront: Storefront, redis_server: RedisServer
) -> None:
    product = own_storefront.add_product()
    redis_server.kill()

    placed = [own_storefront.place_order(product, quantity) for quantity in (1, 2, 3)]

    assert own_storefront.gateway.outbox.backlog() == 3
    assert own_storefront.order(placed[0])["status"] == "pending"  # readable from the read model at once

    redis_server.restart()

    eventually(own_storefront.all_sent, "the relay to catch up")
    submitted = own_storefront.events("storefront", "checkout.submitted")
    assert [(e.data.order_id, e.data.lines[0].quantity) for e in submitted] == [
        (p.order_id, quantity) for p, quantity in zip(placed, (1, 2, 3), strict=True)
    ]


def test_the_order_page_of_a_checkout_works_while_redis_is_down(
    own_storefront: Storefront, redis_server: RedisServer
) -> None:
    placed = own_storefront.place_order(own_storefront.add_product())
    redis_server.kill()

    response = own_storefront.http.get(f"/api/orders/{placed.order_id}", params={"token": placed.token})

    assert response.status_code == 200
    assert response.json()["status"] == "pending"


def test_the_web_process_publishes_a_checkout_itself_right_after_its_commit(own_storefront: Storefront) -> None:
    product = own_storefront.add_product()
    own_storefront.projector.stop()  # no relay runs anywhere now: only the web process can publish

    placed = own_storefront.place_order(product)

    eventually(lambda: own_storefront.published_for("checkout.submitted", placed.order_id), "the checkout published")
    eventually(own_storefront.all_sent, "its outbox row marked sent")


def test_a_checkout_that_cannot_get_the_database_in_time_is_answered_503_and_writes_nothing(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with _short_busy_timeout_storefront(redis_server, tmp_path) as storefront:
        product = storefront.add_product()
        eventually(storefront.all_sent, "the product's set-up settled")
        database = make_url(storefront.gateway.db.url).database
        assert database is not None
        other_process = sqlite3.connect(database, isolation_level=None)  # another writer, holding the file
        other_process.execute("BEGIN IMMEDIATE")
        try:
            response = storefront.checkout([{"product_id": product.id, "quantity": 1}])
        finally:
            other_process.execute("ROLLBACK")
            other_process.close()

        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert "busy" in response.json()["error"]["message"]
        assert storefront.gateway.outbox.backlog() == 0
        assert storefront.checkout([{"product_id": product.id, "quantity": 1}]).status_code == 202


@contextmanager
def _short_busy_timeout_storefront(redis_server: RedisServer, tmp_path: Path) -> Iterator[Storefront]:
    """A gateway whose database waits only ``BUSY_TIMEOUT_MS`` for a lock, started afresh if its own
    start-up met the projector's first writes for longer than that (a loaded machine does that)."""
    env = {"DB_BUSY_TIMEOUT_MS": str(BUSY_TIMEOUT_MS)}
    for attempt in range(1, START_ATTEMPTS + 1):
        with ExitStack() as started:
            try:
                storefront = started.enter_context(
                    running_storefront(redis_server.url, tmp_path / str(attempt), env=env)
                )
            except Busy:
                if attempt == START_ATTEMPTS:
                    raise
                redis_server.empty()
                continue
            yield storefront
            return
