"""A checkout's log lines carry its order id as ``correlation_id``, as every event of its saga does."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

from tests.app.storefront import Storefront
from tests.support.logs import borrowed_root_logger
from workers.eventing.logs import setup_logging


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    with borrowed_root_logger() as stream:
        setup_logging("web", {"LOG_FORMAT": "json"}, stream)
        yield stream


def test_the_checkouts_line_carries_its_order_id(storefront: Storefront, json_logs: io.StringIO) -> None:
    placed = storefront.place_order(storefront.add_product())

    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    [accepted] = [line for line in lines if line["logger"] == "app.shop.order_placement"]
    assert accepted["correlation_id"] == placed.order_id
    assert accepted["event_type"] == "checkout.submitted"
    assert placed.order_id in accepted["message"]
