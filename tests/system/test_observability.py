"""Seeing inside a running stack: the ops console, JSON logs joined by correlation id.

One stack for the module, with ``LOG_FORMAT=json`` and quick heartbeats; each test
uses its own orders and its own poison entries.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.ports import free_port
from tests.support.stack import Stack
from tests.support.waiting import wait_until
from tests.system.conftest import DEMO_PRODUCTS, start
from tests.system.shop_client import ShopClient
from workers.eventing.registry import EVENT_FIELD, TYPE_FIELD

pytestmark = pytest.mark.stack

MANAGER = {"username": "manager", "password": "manager-dev-password"}
CLERK = {"username": "clerk", "password": "clerk-dev-password"}


@pytest.fixture(scope="module")
def orders_metrics_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory, orders_metrics_port: int) -> Iterator[Stack]:
    env = {
        "LOG_FORMAT": "json",
        "HEARTBEAT_INTERVAL_S": "0.5",
        "OPS_REFRESH_S": "0.2",
        "ORDERS_METRICS_PORT": str(orders_metrics_port),
    }
    stack = start(tmp_path_factory.mktemp("observed"), env)
    try:
        with ShopClient(stack.url) as shop:
            shop.wait_for_catalog(DEMO_PRODUCTS)
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def ops(observed: Stack) -> Iterator[httpx.Client]:
    """A manager's API client on the stack."""
    with httpx.Client(base_url=observed.url, timeout=10.0) as client:
        token = client.post("/api/login", json=MANAGER).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def status(ops: httpx.Client) -> dict[str, Any]:
    response = ops.get("/api/ops/status")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def group(ops: httpx.Client, stream: str, name: str) -> dict[str, Any] | None:
    streams = {s["name"]: s for s in status(ops)["streams"]}
    return next((g for g in streams.get(stream, {}).get("groups", []) if g["name"] == name), None)


def dead_letter_of(ops: httpx.Client, entry_id: str) -> dict[str, Any] | None:
    letters = ops.get("/api/ops/dead-letters").json()["dead_letters"]
    return next((d for d in letters if d["entry_id"] == entry_id), None)


def audit(stack: Stack, dlq_id: str) -> list[tuple[str, str]]:
    with sqlite3.connect(stack.data_dir / "db" / "gateway.sqlite3") as db:
        return db.execute("SELECT action, actor FROM ops_audit WHERE dlq_id = ? ORDER BY id", (dlq_id,)).fetchall()


def test_every_service_reports_its_heartbeat(ops: httpx.Client) -> None:
    def all_beating() -> dict[str, Any] | None:
        services = {s["name"]: s for s in status(ops)["services"]}
        alive = all(s["heartbeat_age_s"] is not None and s["outbox_backlog"] is not None for s in services.values())
        return services if alive else None

    services = wait_until(all_beating, 20, "a heartbeat from every service")
    assert set(services) == {"gateway", "catalog", "orders", "payments", "warehouse", "shipping", "email"}


def test_a_poison_entry_is_listed_retried_and_discarded_with_an_audit_row(observed: Stack, ops: httpx.Client) -> None:
    with observed.redis.client() as client:
        raw = client.xadd("payments", {TYPE_FIELD: b"payment.confirmed", EVENT_FIELD: b"{not json"})
    entry_id = raw.decode()

    letter = wait_until(lambda: dead_letter_of(ops, entry_id), 20, "the poison entry among the dead letters")
    assert (letter["stream"], letter["group"]) == ("payments", "orders")
    assert status(ops)["dead_letters"] >= 1
    with httpx.Client(base_url=observed.url, timeout=10.0) as browser:
        login = browser.get("/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login)
        assert csrf
        browser.post("/login", data={**MANAGER, "csrf_token": csrf.group(1), "next": "/ops"})
        page = browser.get("/ops")
        assert page.status_code == 200 and f'id="dead-letter-{letter["id"]}"' in page.text

    retried = ops.post(f"/api/ops/dead-letters/{letter['id']}/retry")

    assert retried.status_code == 202, retried.text
    back_as = retried.json()["new_entry_id"]
    with observed.redis.client() as client:
        assert [e[1][EVENT_FIELD] for e in client.xrange("payments", min=back_as, max=back_as)] == [b"{not json"]
    assert audit(observed, letter["id"]) == [("retry", "manager")]
    # Still malformed, so the orders group dead-letters it again: discard that one for good.
    again = wait_until(lambda: dead_letter_of(ops, back_as), 20, "the retried entry dead-lettered again")

    discarded = ops.post(f"/api/ops/dead-letters/{again['id']}/discard")

    assert discarded.status_code == 202, discarded.text
    assert dead_letter_of(ops, back_as) is None
    assert audit(observed, again["id"]) == [("discard", "manager")]


def test_lag_shows_while_a_worker_is_stopped_and_drains_after_it_restarts(observed: Stack, ops: httpx.Client) -> None:
    wait_until(lambda: (g := group(ops, "orders", "shipping")) is not None and g["lag"] == 0, 20, "shipping idle")
    observed.signal("shipping")  # kill -9
    with ShopClient(observed.url) as shop:
        placed = shop.checkout([(3, 1)])
        shop.wait_for_status(placed, "confirmed")

    behind = wait_until(lambda: (g := group(ops, "orders", "shipping")) and g["lag"] > 0 and g, 20, "shipping lag")
    assert behind["lag"] >= 2  # order.placed and order.confirmed at least

    observed.restart("shipping")

    drained = wait_until(
        lambda: (g := group(ops, "orders", "shipping")) and g["lag"] == 0 and g["pending"] == 0 and g,
        30,
        "the shipping group to catch up",
    )
    assert drained["lag"] == 0


def test_one_orders_json_lines_share_its_correlation_id_across_services(observed: Stack) -> None:
    with ShopClient(observed.url) as shop:
        placed = shop.checkout([(4, 1)])
        shop.wait_for_status(placed, "confirmed")

    def lines_of_the_order() -> set[str] | None:
        services = {line["service"] for line in json_lines(observed) if line.get("correlation_id") == placed.order_id}
        # The web logs the checkout and orders each status change at INFO, each in the order's context.
        return services if {"web", "orders"} <= services else None

    services = wait_until(lines_of_the_order, 20, "the order's lines from the web and orders")
    assert len(services) >= 2


def json_lines(stack: Stack) -> list[dict[str, Any]]:
    """Every line every process logged, each parsed as one JSON object (a line that is not one fails)."""
    parsed = []
    for path in sorted((stack.data_dir / "logs").glob("*.log")):
        for number, text in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
            except json.JSONDecodeError:
                pytest.fail(f"{path.name}:{number} is not JSON: {text[:200]}")
            assert {"time", "level", "service", "logger", "message"} <= set(line), text
            parsed.append(line)
    return parsed


def test_a_clerk_is_forbidden_the_ops_api_and_page(observed: Stack) -> None:
    with httpx.Client(base_url=observed.url, timeout=10.0) as client:
        token = client.post("/api/login", json=CLERK).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/ops/status", headers=auth).status_code == 403
        assert client.get("/api/ops/dead-letters", headers=auth).status_code == 403
        assert client.post("/api/ops/dead-letters/1-1/retry", headers=auth).status_code == 403
        assert client.post("/api/ops/dead-letters/1-1/discard", headers=auth).status_code == 403


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(url, timeout=10.0)
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_parse_and_move_with_orders_on_the_web_and_a_worker(observed: Stack, orders_metrics_port: int) -> None:
    web, worker = f"{observed.url}/metrics", f"http://127.0.0.1:{orders_metrics_port}/metrics"
    handled = ("events_handled_total", frozenset({"group": "orders", "type": "checkout.submitted"}.items()))
    confirmed = ("shop_orders", frozenset({"status": "confirmed"}.items()))
    checkouts = (
        "http_request_duration_seconds_count",
        frozenset({"method": "POST", "route": "/api/orders", "status": "202"}.items()),
    )
    before_web, before_worker = scrape(web), scrape(worker)

    with ShopClient(observed.url) as shop:
        placed = [shop.checkout([(6, 1)]) for _ in range(2)]
        for order in placed:
            shop.wait_for_status(order, "confirmed")

    wait_until(lambda: scrape(web).get(confirmed, 0) >= before_web.get(confirmed, 0) + 2, 20, "2 more confirmed")
    after_web, after_worker = scrape(web), scrape(worker)
    assert after_web[checkouts] == before_web.get(checkouts, 0) + 2
    assert after_worker[handled] == before_worker.get(handled, 0) + 2
    assert any(name == "consumer_group_lag" for name, _ in after_web)
    assert any(name == "relay_published_total" for name, _ in after_worker)
