"""Order events as the orders service publishes them, for tests of the services downstream."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar

from workers.contracts.common import Customer, Line
from workers.contracts.orders import OrderSnapshot, StatusChange
from workers.eventing.ids import uuid7

Snapshot = TypeVar("Snapshot", bound=OrderSnapshot)

# The status each order event type announces, and the statuses the order went through first.
PATH = ("pending", "confirmed", "dispatched", "shipped", "delivered")


def new_order_id() -> str:
    return uuid7()


def line(product_id: int, quantity: int, *, sku: str | None = None, name: str | None = None, price: int = 1000) -> Line:
    """One priced order line."""
    return Line(
        product_id=product_id,
        sku=sku or f"SKU-{product_id}",
        name=name or f"Product {product_id}",
        unit_price_cents=price,
        quantity=quantity,
        line_total_cents=price * quantity,
    )


def order_event(
    model: type[Snapshot],
    order_id: str,
    lines: Sequence[Line | tuple[int, int]],
    *,
    customer: Customer | None = None,
    **fields: object,
) -> Snapshot:
    """The snapshot an order event of ``model`` carries; ``(product_id, quantity)`` tuples become lines."""
    priced = [item if isinstance(item, Line) else line(*item) for item in lines]
    status = fields.pop("status", None) or _status_of(model.TYPE)
    now = datetime.now(UTC)
    passed = PATH[: PATH.index(status) + 1] if status in PATH else ("pending", status)
    values: dict[str, object] = {
        "order_id": order_id,
        "status": status,
        "customer": customer or Customer(email="ada@example.com", name="Ada Lovelace", address="12 Analytical Row"),
        "lines": priced,
        "total_cents": sum(item.line_total_cents for item in priced),
        "payment_method": "pm_card_visa",
        "history": [StatusChange(status=step, at=now) for step in passed],
        "placed_at": now,
    }
    values.update(fields)
    return model.model_validate(values)


def _status_of(event_type: str) -> str:
    return {"placed": "pending"}.get(event_type.split(".", 1)[1], event_type.split(".", 1)[1])
