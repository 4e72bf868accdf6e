"""Queries on the gateway's read model: what pages and the JSON API show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from app.read_model import tables
from workers.contracts.orders import CANCELLABLE, OrderStatus


@dataclass(frozen=True)
class Product:
    """A product as checkout prices it: what the read model knows of it."""

    id: int
    sku: str
    name: str
    price_cents: int
    archived: bool = False


def catalog(conn: Connection) -> dict[int, Product]:
    """Products the catalog has announced, at their current price; archived ones say so (not on sale)."""
    p = tables.products
    rows = conn.execute(select(p.c.id, p.c.sku, p.c.name, p.c.price_cents, p.c.archived).where(p.c.catalog_version > 0))
    return {row.id: Product(row.id, row.sku, row.name, row.price_cents, bool(row.archived)) for row in rows}


def products(conn: Connection, *, archived: bool = False) -> list[dict[str, Any]]:
    """Products on sale (with ``archived=True``, the archived ones as well), by id."""
    p = tables.products
    query = select(p).where(p.c.catalog_version > 0)
    if not archived:
        query = query.where(p.c.archived.is_(False))
    return [product_view(row) for row in conn.execute(query.order_by(p.c.id))]


def product_row(conn: Connection, product_id: int) -> Any:
    """A product the catalog announced, archived or not (None if it never did)."""
    p = tables.products
    return conn.execute(select(p).where(p.c.id == product_id, p.c.catalog_version > 0)).first()


def catalog_requests(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    """A manager's recent new-product requests the catalog has not created (yet, or ever), newest first."""
    r = tables.catalog_requests
    query = select(r).where(r.c.status != "created").order_by(r.c.requested_at.desc()).limit(limit)
    return [
        {
            "request_id": row.request_id,
            "product_id": row.product_id,
            "sku": row.sku,
            "name": row.name,
            "status": row.status,
            "field": row.field,
            "reason": row.reason,
        }
        for row in conn.execute(query)
    ]


def product_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "sku": row.sku,
        "name": row.name,
        "description": row.description,
        "price_cents": row.price_cents,
        "available": row.available,
        "on_hand": row.on_hand,
        "reserved": row.reserved,
        "archived": bool(row.archived),
    }


def product(conn: Connection, product_id: int) -> dict[str, Any] | None:
    return next((p for p in products(conn) if p["id"] == product_id), None)


def position(conn: Connection, stream: str) -> str:
    """The last entry of ``stream`` the read model reflects ("0-0" before any)."""
    last = conn.execute(select(tables.positions.c.last_id).where(tables.positions.c.stream == stream)).scalar()
    return str(last) if last else "0-0"


def order_row(conn: Connection, order_id: str, *, for_update: bool = False) -> Any:
    query = select(tables.orders).where(tables.orders.c.order_id == order_id)
    # FOR UPDATE: on PostgreSQL a cancel and a dispatch of one order take turns here.
    return conn.execute(query.with_for_update() if for_update else query).first()


def payment_view(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The order's payment as its owner sees it: ``pending`` until the payment service answers."""
    payment = snapshot.get("payment") or {}
    return {
        "status": payment.get("status", "pending"),
        "amount_cents": payment.get("amount_cents", snapshot["total_cents"]),
        "refunded_cents": payment.get("refunded_cents", 0),
        "method": snapshot.get("payment_method"),
    }


def order_view(row: Any) -> dict[str, Any]:
    """An order as its owner (or a clerk) sees it."""
    snapshot = row.snapshot
    return {
        "order_id": row.order_id,
        "status": row.status,
        "lines": snapshot["lines"],
        "total_cents": snapshot["total_cents"],
        "history": [{"status": h["status"], "at": h["at"]} for h in snapshot.get("history", [])],
        "customer": snapshot["customer"],
        "payment_method": snapshot.get("payment_method"),
        "payment": payment_view(snapshot),
        "cancel_reason": snapshot.get("cancel_reason"),
        "carrier": snapshot.get("carrier"),
        "tracking_number": snapshot.get("tracking_number"),
        "dispatch_requested": bool(row.dispatch_requested),
        "cancel_requested": bool(row.cancel_requested),
        "cancellable": row.status in CANCELLABLE and not row.dispatch_requested and not row.cancel_requested,
        "placed_at": snapshot.get("placed_at"),
        "version": row.version,
    }


def orders_with_status(conn: Connection, status: OrderStatus, limit: int = 200) -> list[dict[str, Any]]:
    o = tables.orders
    rows = conn.execute(select(o).where(o.c.status == status).order_by(o.c.updated_at).limit(limit))
    return [order_view(row) for row in rows]


@dataclass(frozen=True)
class OrderSearch:
    """What staff look for: a status (None: any), an order id prefix or an email, a day range, a page."""

    status: str | None = None
    q: str = ""
    placed_from: float | None = None
    placed_before: float | None = None
    after: tuple[float, str] | None = None  # the last order of the previous page
    limit: int = 20


def search_orders(conn: Connection, search: OrderSearch) -> tuple[list[dict[str, Any]], tuple[float, str] | None]:
    """One page of orders, newest first, and where the next page starts (None on the last one).

    Keyset paging on (placed_at, order_id): a page never repeats or skips an order while
    new ones come in ahead of it.
    """
    o = tables.orders
    query = select(o)
    if search.status is not None:
        query = query.where(o.c.status == search.status)
    if search.q:
        pattern = _like_prefix(search.q.lower())
        if "@" in search.q:
            query = query.where(func.lower(o.c.email).like(pattern, escape="\\"))
        else:
            query = query.where(func.lower(o.c.order_id).like(pattern, escape="\\"))
    if search.placed_from is not None:
        query = query.where(o.c.placed_at >= search.placed_from)
    if search.placed_before is not None:
        query = query.where(o.c.placed_at < search.placed_before)
    if search.after is not None:
        placed_at, order_id = search.after
        query = query.where(or_(o.c.placed_at < placed_at, and_(o.c.placed_at == placed_at, o.c.order_id < order_id)))
    rows = conn.execute(query.order_by(o.c.placed_at.desc(), o.c.order_id.desc()).limit(search.limit + 1)).all()
    page = rows[: search.limit]
    more = len(rows) > search.limit
    return [order_view(row) for row in page], ((page[-1].placed_at, page[-1].order_id) if more else None)


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
