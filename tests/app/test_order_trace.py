"""One trace per order: the checkout, every handler after it, each email and the dispatch.

The gateway (its app and its projector) and every worker's real wiring run in this
process against one Redis, tracing into the SDK's in-memory exporter; the order goes
from checkout to delivered, and its spans must form one tree under the checkout.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.app.storefront import Storefront, running_storefront
from tests.support.harness import ServiceHarness
from tests.support.redis_server import RedisServer
from workers.email.bootstrap import SPEC as EMAIL
from workers.eventing import tracing
from workers.orders.bootstrap import SPEC as ORDERS
from workers.payments.bootstrap import SPEC as PAYMENTS
from workers.shipping.bootstrap import SPEC as SHIPPING
from workers.warehouse.bootstrap import SPEC as WAREHOUSE

WORKERS = (ORDERS, PAYMENTS, WAREHOUSE, SHIPPING, EMAIL)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = tracing.provider("test")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.install(None)
        provider.shutdown()


@pytest.fixture
def system(redis_server: RedisServer, tmp_path: Path) -> Iterator[tuple[Storefront, list[ServiceHarness]]]:
    env = {"SHIP_DELAY_S": "0", "DELIVER_DELAY_S": "0", "SHIPPING_TICK_S": "0", "SEED_DEMO_CATALOG": "0"}
    workers = [
        ServiceHarness(
            spec,
            redis_url=redis_server.url,
            database_url=f"sqlite:///{tmp_path / spec.name}.sqlite3",
            data_dir=tmp_path,
            env=env,
        )
        for spec in WORKERS
    ]
    try:
        with running_storefront(redis_server.url, tmp_path / "gateway") as storefront:
            yield storefront, workers
    finally:
        for worker in workers:
            worker.close()


def turn_until(storefront: Storefront, workers: list[ServiceHarness], order_id: str, token: str, status: str) -> None:
    for _ in range(50):
        for worker in workers:
            worker.run_until_idle()
            for task in worker.wiring.background:  # the email sender, which runs in a thread of its own
                task.drain()  # type: ignore[attr-defined]
        order = storefront.http.get(f"/api/orders/{order_id}", headers={"X-Order-Token": token}).json()
        if order["status"] == status:
            return
    raise AssertionError(f"order {order_id} never reached {status}")


def test_an_orders_saga_is_one_trace_of_parent_linked_spans(
    spans: InMemorySpanExporter, system: tuple[Storefront, list[ServiceHarness]]
) -> None:
    storefront, workers = system
    product = storefront.add_product(on_hand=5, announce_stock=False)
    for worker in workers:
        worker.run_until_idle()
    placed = storefront.place_order(product)
    turn_until(storefront, workers, placed.order_id, placed.token, "confirmed")
    clerk = {"Authorization": f"Bearer {storefront.clerk_token()}"}
    assert storefront.http.post(f"/api/warehouse/orders/{placed.order_id}/dispatch", headers=clerk).status_code == 202
    turn_until(storefront, workers, placed.order_id, placed.token, "delivered")

    trace_id, root_span_id = tracing.root_ids(placed.order_id)
    ours = [s for s in spans.get_finished_spans() if (s.attributes or {}).get("correlation_id") == placed.order_id]
    by_id: dict[int, ReadableSpan] = {s.context.span_id: s for s in ours if s.context is not None}
    names = {s.name for s in ours}

    assert {s.context.trace_id for s in ours if s.context is not None} == {trace_id}  # one trace
    [checkout] = [s for s in ours if s.name == "checkout"]
    assert checkout.parent is None and checkout.context is not None and checkout.context.span_id == root_span_id
    # Every other span hangs off one of the order's own spans: a single tree under the checkout.
    for span in ours:
        if span is not checkout:
            assert span.parent is not None and span.parent.span_id in by_id, f"{span.name} is not linked in"
    assert {
        "orders handle checkout.submitted",
        "payments handle order.placed",
        "warehouse handle order.placed",
        "orders handle payment.confirmed",
        "dispatch requested",
        "orders handle dispatch.requested",
        "warehouse handle order.dispatched",
        "shipping handle order.dispatched",
        "orders handle shipment.delivered",
    } <= names
    emails = {n for n in names if n.startswith("email handle order.")}
    assert emails >= {f"email handle order.{s}" for s in ("placed", "confirmed", "dispatched", "shipped", "delivered")}
    assert len([s for s in ours if s.name == "email send"]) >= 5  # each email sent, in the same trace

    def parent_name(name: str) -> str:
        [span] = [s for s in ours if s.name == name]
        assert span.parent is not None
        return by_id[span.parent.span_id].name

    assert parent_name("orders handle checkout.submitted") == "checkout"
    assert parent_name("payments handle order.placed") == "orders handle checkout.submitted"
    assert parent_name("orders handle dispatch.requested") == "dispatch requested"
    assert parent_name("warehouse handle order.dispatched") == "orders handle dispatch.requested"
    assert parent_name("dispatch requested") == "checkout"
