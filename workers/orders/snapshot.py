"""An order row as the fat event announcing its current status (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from workers.contracts.orders import EVENT_FOR_STATUS, OrderSnapshot


def snapshot(row: Mapping[str, Any], model: type[OrderSnapshot] | None = None) -> OrderSnapshot:
    """The whole order, as ``model`` or the event type named after its status (``order.placed`` for pending)."""
    model = model or EVENT_FOR_STATUS[row["status"]]
    return model.model_validate(
        {
            "order_id": row["order_id"],
            "status": row["status"],
            "customer": row["customer"],
            "lines": row["lines"],
            "total_cents": row["total_cents"],
            "payment_method": row["payment_method"],
            "payment": row["payment"],
            "stock_reserved": bool(row["stock_reserved"]),
            "cancel_reason": row["cancel_reason"],
            "carrier": row["carrier"],
            "tracking_number": row["tracking_number"],
            "history": row["history"],
            "placed_at": as_utc(row["placed_at"]),
        }
    )


def as_utc(value: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; they were written in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
