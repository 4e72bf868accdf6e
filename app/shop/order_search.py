"""Staff's order search: query parameters in, a page of orders and the next page's cursor out.

The cursor is opaque to clients: the last order of a page (when it was placed and its
id), so the next page starts right after it however many orders came in meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from app.http.errors import InvalidInput
from app.read_model.queries import OrderSearch, search_orders
from workers.contracts.orders import ORDER_STATUSES

DEFAULT_STATUS = "confirmed"  # what the console's dispatch list wants; ``status=`` (empty) means any
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_QUERY = 254


def parse_search(params: Mapping[str, str]) -> OrderSearch:
    """An ``OrderSearch`` from ``status``, ``q``, ``from``, ``to`` (days, UTC), ``cursor`` and ``limit``."""
    errors: dict[str, str] = {}
    status: str | None = params.get("status", DEFAULT_STATUS) or None
    if status is not None and status not in ORDER_STATUSES:
        errors["status"] = f"one of {', '.join(ORDER_STATUSES)} (or empty for any)"
    q = params.get("q", "").strip()
    if len(q) > MAX_QUERY:
        errors["q"] = f"at most {MAX_QUERY} characters"
    placed_from = _day(params, "from", errors)
    to = _day(params, "to", errors)
    placed_before = to + timedelta(days=1).total_seconds() if to is not None else None
    after = decode_cursor(params["cursor"], errors) if params.get("cursor") else None
    limit = PAGE_SIZE
    if params.get("limit"):
        raw = params["limit"]
        if raw.isascii() and raw.isdigit() and 1 <= int(raw[:4]) <= MAX_PAGE_SIZE and len(raw) <= 4:
            limit = int(raw)
        else:
            errors["limit"] = f"a whole number from 1 to {MAX_PAGE_SIZE}"
    if errors:
        raise InvalidInput(errors)
    return OrderSearch(status, q, placed_from, placed_before, after, limit)


def find_orders(conn: Connection, search: OrderSearch) -> dict[str, Any]:
    """``{"orders": [...], "next_cursor"}``: one page of the search."""
    orders, last = search_orders(conn, search)
    return {"orders": orders, "next_cursor": encode_cursor(last) if last is not None else None}


def encode_cursor(last: tuple[float, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps([last[0], last[1]]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, errors: dict[str, str]) -> tuple[float, str] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        placed_at, order_id = json.loads(raw)
        if isinstance(placed_at, int | float) and not isinstance(placed_at, bool) and isinstance(order_id, str):
            return float(placed_at), order_id
    except (binascii.Error, ValueError, TypeError):
        pass
    errors["cursor"] = "not a cursor this API gave out (use a previous answer's next_cursor)"
    return None


def _day(params: Mapping[str, str], name: str, errors: dict[str, str]) -> float | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors[name] = "a day as YYYY-MM-DD"
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
