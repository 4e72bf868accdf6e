"""The orders service, run by a harness against this test's Redis and database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.harness import ServiceHarness, harnesses
from workers.orders.bootstrap import SPEC

StartOrders = Callable[..., ServiceHarness]


@pytest.fixture
def start_orders(redis_url: str, database_url: str, tmp_path: Path) -> Iterator[StartOrders]:
    """Start the orders service (optionally with extra environment); stopped after the test."""
    with harnesses(SPEC, redis_url=redis_url, database_url=database_url, data_dir=tmp_path) as start:
        yield start


@pytest.fixture
def shop(start_orders: StartOrders) -> ServiceHarness:
    """The orders service with its default settings."""
    return start_orders()
