"""The services' own records, read straight from their databases (the checker may; services may not).

Each reader opens the service's database by the same URL the service uses (SQLite
under the data dir by default) and reads in one snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, MetaData, func, select

from workers.email.tables import notifications
from workers.eventing.database import Database
from workers.eventing.settings import Settings
from workers.eventing.tables import backbone_tables
from workers.orders.tables import orders
from workers.warehouse.tables import stock


@dataclass(frozen=True)
class Shelf:
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class Order:
    """An order as the orders service holds it."""

    order_id: str
    status: str
    payment_method: str
    lines: tuple[tuple[int, int], ...]  # (product_id, quantity)
    history: tuple[str, ...]
    cancel_reason: str | None
    refunded: bool = False  # its payment was given back (and a refund email is due)


@dataclass(frozen=True)
class Requests:
    """What the gateway recorded (in its outbox) that clerks asked of the warehouse."""

    restocks: dict[str, tuple[int, int]]  # request id -> (product_id, quantity)
    dispatches: set[str]  # order ids


@contextmanager
def _reading(settings: Settings, service: str, metadata: MetaData) -> Iterator[Connection]:
    db = Database(settings.database_url(service), metadata)
    try:
        with db.snapshot() as conn:
            yield conn
    finally:
        db.dispose()


def shelves(settings: Settings) -> dict[int, Shelf]:
    """The warehouse's stock per product."""
    with _reading(settings, "warehouse", stock.metadata) as conn:
        rows = conn.execute(select(stock.c.product_id, stock.c.on_hand, stock.c.reserved))
        return {row.product_id: Shelf(row.on_hand, row.reserved) for row in rows}


def all_orders(settings: Settings) -> dict[str, Order]:
    """Every order of the orders service, by id."""
    o = orders
    with _reading(settings, "orders", o.metadata) as conn:
        rows = conn.execute(
            select(o.c.order_id, o.c.status, o.c.payment_method, o.c.lines, o.c.history, o.c.cancel_reason, o.c.payment)
        )
        return {
            row.order_id: Order(
                order_id=row.order_id,
                status=row.status,
                payment_method=row.payment_method,
                lines=tuple((int(line["product_id"]), int(line["quantity"])) for line in row.lines),
                history=tuple(entry["status"] for entry in row.history),
                cancel_reason=row.cancel_reason,
                refunded=(row.payment or {}).get("status") == "refunded",
            )
            for row in rows
        }


def emails_recorded(settings: Settings) -> set[tuple[str, str]]:
    """(order id, status) of every email the email service marked as sent."""
    t = notifications
    with _reading(settings, "email", t.metadata) as conn:
        query = select(t.c.order_id, t.c.status).where(t.c.sent_at.is_not(None))
        return {(row.order_id, row.status) for row in conn.execute(query)}


def emails_unsent(settings: Settings) -> int:
    """Emails recorded but not yet sent (the email service's sender is behind, or was killed)."""
    t = notifications
    with _reading(settings, "email", t.metadata) as conn:
        query = select(func.count()).where(t.c.sent_at.is_(None), t.c.failed_at.is_(None))
        return int(conn.scalar(query) or 0)


def clerk_requests(settings: Settings) -> Requests:
    """Restocks and dispatches the gateway committed (its outbox keeps sent rows for an hour)."""
    metadata = MetaData()
    outbox = backbone_tables(metadata).outbox
    restocks: dict[str, tuple[int, int]] = {}
    dispatches: set[str] = set()
    with _reading(settings, "gateway", metadata) as conn:
        query = select(outbox.c.event_type, outbox.c.payload).where(
            outbox.c.event_type.in_(("restock.requested", "dispatch.requested"))
        )
        for row in conn.execute(query):
            data = json.loads(row.payload)["data"]
            if row.event_type == "restock.requested":
                restocks[data["request_id"]] = (int(data["product_id"]), int(data["quantity"]))
            else:
                dispatches.add(data["order_id"])
    return Requests(restocks, dispatches)
