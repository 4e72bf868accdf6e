"""A dispatched order is handed to the carrier, shipped with a tracking number, and delivered."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from tests.support.harness import ServiceHarness
from tests.workers.order_snapshots import new_order_id, order_event
from tests.workers.shipping.conftest import ShippingFactory
from workers.contracts.orders import OrderDispatched
from workers.eventing import Envelope
from workers.shipping.carrier import Pace, tracking_number
from workers.shipping.handlers import due_parcels, move_parcels
from workers.shipping.tables import shipments

PACE = Pace(ship_delay_s=0, deliver_delay_s=0)


def _dispatch(shipping: ServiceHarness, order_id: str) -> Envelope:
    data = order_event(OrderDispatched, order_id, [(1, 1)], stock_reserved=True)
    return shipping.publish(data, aggregate_id=order_id, aggregate_version=3)


def _statuses(shipping: ServiceHarness) -> list[str]:
    return [received.data.status for received in shipping.published("shipping")]


def test_a_dispatched_order_is_shipped_then_delivered(shipping: ServiceHarness) -> None:
    order_id = new_order_id()
    _dispatch(shipping, order_id)
    shipping.run_until_idle()
    [shipped] = shipping.published("shipping", "shipment.shipped")
    shipping.run_until_idle()
    [delivered] = shipping.published("shipping", "shipment.delivered")

    assert (shipped.data.order_id, shipped.data.carrier, shipped.data.status) == (order_id, "Parcelo", "shipped")
    assert shipped.data.shipped_at is not None and shipped.data.delivered_at is None
    assert delivered.data.status == "delivered"
    assert delivered.data.shipped_at == shipped.data.shipped_at
    assert delivered.data.delivered_at is not None and delivered.data.delivered_at >= shipped.data.shipped_at
    assert delivered.data.shipment_id == shipped.data.shipment_id
    assert shipped.envelope.aggregate_id == shipped.data.shipment_id
    assert [shipped.envelope.aggregate_version, delivered.envelope.aggregate_version] == [2, 3]
    assert shipped.envelope.correlation_id == delivered.envelope.correlation_id == order_id


def test_the_tracking_number_is_stable_and_derived_from_the_order(shipping: ServiceHarness) -> None:
    order_id = new_order_id()
    _dispatch(shipping, order_id)
    shipping.run_until_idle()
    shipping.run_until_idle()

    numbers = {received.data.tracking_number for received in shipping.published("shipping")}
    assert numbers == {tracking_number(order_id)}


def test_a_redelivered_or_repeated_dispatch_creates_one_shipment(shipping: ServiceHarness) -> None:
    order_id = new_order_id()
    dispatched = _dispatch(shipping, order_id)
    shipping.run_until_idle()
    shipping.redeliver(dispatched)
    _dispatch(shipping, order_id)  # the orders service published it again, as a new event
    shipping.run_until_idle()
    shipping.run_until_idle()

    with shipping.db.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(shipments).where(shipments.c.order_id == order_id)) == 1
    assert _statuses(shipping) == ["shipped", "delivered"]


def test_each_order_gets_its_own_shipment(shipping: ServiceHarness) -> None:
    first, second = new_order_id(), new_order_id()
    _dispatch(shipping, first)
    _dispatch(shipping, second)
    shipping.run_until_idle()

    shipped = shipping.published("shipping", "shipment.shipped")
    assert sorted(received.data.order_id for received in shipped) == sorted([first, second])
    assert len({received.data.tracking_number for received in shipped}) == 2


def test_a_parcel_waits_for_the_carriers_pickup(start_shipping: ShippingFactory) -> None:
    shipping = start_shipping(ship_delay_s=3600)
    order_id = new_order_id()
    _dispatch(shipping, order_id)
    shipping.run_until_idle()
    shipping.run_until_idle()

    assert _statuses(shipping) == []
    with shipping.db.engine.connect() as conn:
        assert conn.scalar(select(shipments.c.status).where(shipments.c.order_id == order_id)) == "awaiting_pickup"


def test_a_shipped_parcel_travels_before_it_is_delivered(start_shipping: ShippingFactory) -> None:
    shipping = start_shipping(deliver_delay_s=3600)
    _dispatch(shipping, new_order_id())
    shipping.run_until_idle()
    shipping.run_until_idle()

    assert _statuses(shipping) == ["shipped"]


def test_two_replicas_move_each_parcel_once(start_shipping: ShippingFactory) -> None:
    # Their own ticks never find the parcel due; the test plays both carriers' rounds by hand.
    first, second = (start_shipping(ship_delay_s=3600, deliver_delay_s=3600) for _ in range(2))
    _dispatch(first, new_order_id())
    first.run_until_idle()
    # Both carriers see the parcel due before either moves it; the second then finds it moved.
    now = time.time()
    seen_by_first = due_parcels(first.db, PACE, now)
    seen_by_second = due_parcels(second.db, PACE, now)
    assert len(seen_by_first.to_ship) == len(seen_by_second.to_ship) == 1
    move_parcels(first.runtime.outbox, seen_by_first, now)
    move_parcels(second.runtime.outbox, seen_by_second, now)
    first.run_until_idle()

    assert _statuses(first) == ["shipped"]
    with first.db.engine.connect() as conn:
        assert conn.scalar(select(shipments.c.version)) == 2
