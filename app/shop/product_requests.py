"""A staff request about one product the read model knows, recorded in the gateway's outbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from app.http.errors import ApiError
from workers.eventing import Outbox
from workers.eventing.envelope import EventData
from workers.eventing.ids import uuid7


def request_for_product(
    outbox: Outbox,
    product_id: int,
    known: Callable[[Connection, int], Any],
    event: Callable[[str], EventData],
) -> str:
    """Publish ``event(request_id)`` for the product, 404 unless ``known`` finds it; returns the request id.

    The product's own service orders the requests (aggregate version 0: the gateway does
    not know the product's version), and each request is a correlation of its own.
    """
    request_id = uuid7()
    with outbox.unit_of_work() as uow:
        if known(uow.conn, product_id) is None:
            raise ApiError(404, "No such product.")
        uow.publish(event(request_id), aggregate_id=str(product_id), aggregate_version=0, correlation_id=request_id)
    return request_id
