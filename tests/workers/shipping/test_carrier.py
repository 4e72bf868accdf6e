"""The simulated carrier's tracking numbers and pace, on their own."""

from __future__ import annotations

import re

from workers.shipping.carrier import Pace, tracking_number


def test_a_tracking_number_is_pcl_and_ten_digits() -> None:
    assert re.fullmatch(r"PCL\d{10}", tracking_number("0190d5a8-2f6e-7c1a-9b3e-5d2f8a6c4e10"))


def test_the_same_order_always_gets_the_same_tracking_number() -> None:
    assert tracking_number("order-1") == tracking_number("order-1")
    assert tracking_number("order-1") != tracking_number("order-2")


def test_the_pace_says_since_when_a_parcel_is_due() -> None:
    pace = Pace(ship_delay_s=5, deliver_delay_s=10)
    assert pace.picked_up_if_waiting_since(100.0) == 95.0
    assert pace.delivered_if_shipped_since(100.0) == 90.0
