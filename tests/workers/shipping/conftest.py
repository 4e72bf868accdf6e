"""Shipping wired as in production, with a carrier as quick or as slow as the test needs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.harness import ServiceHarness, harnesses
from workers.shipping.bootstrap import SPEC

ShippingFactory = Callable[..., ServiceHarness]


@pytest.fixture
def start_shipping(redis_url: str, database_url: str, tmp_path: Path) -> Iterator[ShippingFactory]:
    """Start the shipping service; keyword arguments are its delays in seconds (default 0: the next tick)."""
    with harnesses(SPEC, redis_url=redis_url, database_url=database_url, data_dir=tmp_path) as start_replica:

        def start(ship_delay_s: float = 0, deliver_delay_s: float = 0) -> ServiceHarness:
            env = {"SHIPPING_TICK_S": "0", "SHIP_DELAY_S": str(ship_delay_s), "DELIVER_DELAY_S": str(deliver_delay_s)}
            return start_replica(env)

        yield start


@pytest.fixture
def shipping(start_shipping: ShippingFactory) -> ServiceHarness:
    """Shipping whose carrier picks up and delivers on its next tick."""
    return start_shipping()
