"""``GET /metrics``: Prometheus text that parses, with figures that move as orders come in."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.app.storefront import Storefront, eventually


def samples(storefront: Storefront) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = storefront.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_the_metrics_parse_and_checkouts_move_them(storefront: Storefront) -> None:
    before = samples(storefront)
    product = storefront.add_product()

    placed = storefront.place_order(product)
    storefront.http.get(f"/api/orders/{placed.order_id}", headers={"X-Order-Token": placed.token})

    after = samples(storefront)
    checkout = {"name": "http_request_duration_seconds_count", "method": "POST", "route": "/api/orders"}
    labels = {k: v for k, v in checkout.items() if k != "name"}
    assert (
        value(after, checkout["name"], **labels, status="202")
        == value(before, checkout["name"], **labels, status="202") + 1
    )
    # By route template: one series for every order's page, not one per order id.
    assert value(after, checkout["name"], method="GET", route="/api/orders/{order_id}", status="200") >= 1
    assert not any(placed.order_id in str(labels) for _, labels in after)
    assert value(after, "shop_orders", status="pending") >= value(before, "shop_orders", status="pending") + 1
    assert value(after, "shop_redis_up") == 1
    assert value(after, "stream_length", stream="storefront") >= 1


def test_the_system_figures_show_each_groups_lag_and_pending(storefront: Storefront) -> None:
    storefront.place_order(storefront.add_product())

    def with_groups() -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
        found = samples(storefront)
        return found if any(name == "consumer_group_pending" for name, _ in found) else None

    found = eventually(with_groups, "the projector's group in the metrics")

    groups = {dict(labels)["group"] for name, labels in found if name == "consumer_group_pending"}
    assert "gateway" in groups


def test_an_open_socket_is_counted_until_it_closes(storefront: Storefront) -> None:
    def open_sockets() -> float:
        return value(samples(storefront), "websockets_open", route="/ws/stock")

    closed = open_sockets()
    with storefront.http.websocket_connect("/ws/stock"):
        assert open_sockets() == closed + 1
    eventually(lambda: open_sockets() == closed or None, "the socket to be counted closed")
