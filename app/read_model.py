"""Queries on the gateway's read model: what pages and the JSON API show."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from app import tables
from app.checkout import Product


def catalog(conn: Connection) -> dict[int, Product]:
    """Products that can be put in a cart (the catalog has announced them)."""
    p = tables.products
    rows = conn.execute(select(p.c.id, p.c.sku, p.c.name, p.c.price_cents).where(p.c.catalog_version > 0))
    return {row.id: Product(row.id, row.sku, row.name, row.price_cents) for row in rows}


def products(conn: Connection) -> list[dict[str, Any]]:
    p = tables.products
    rows = conn.execute(select(p).where(p.c.catalog_version > 0).order_by(p.c.id))
    return [
        {
            "id": row.id,
            "sku": row.sku,
            "name": row.name,
            "description": row.description,
            "price_cents": row.price_cents,
            "available": row.available,
            "on_hand": row.on_hand,
            "reserved": row.reserved,
        }
        for row in rows
    ]


def product(conn: Connection, product_id: int) -> dict[str, Any] | None:
    return next((p for p in products(conn) if p["id"] == product_id), None)


def position(conn: Connection, stream: str) -> str:
    """The last entry of ``stream`` the read model reflects ("0-0" before any)."""
    last = conn.execute(select(tables.positions.c.last_id).where(tables.positions.c.stream == stream)).scalar()
    return str(last) if last else "0-0"


def order_row(conn: Connection, order_id: str) -> Any:
    return conn.execute(select(tables.orders).where(tables.orders.c.order_id == order_id)).first()


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
        "payment": snapshot.get("payment"),
        "cancel_reason": snapshot.get("cancel_reason"),
        "carrier": snapshot.get("carrier"),
        "tracking_number": snapshot.get("tracking_number"),
        "dispatch_requested": bool(row.dispatch_requested),
        "version": row.version,
    }


def orders_with_status(conn: Connection, status: str, limit: int = 200) -> list[dict[str, Any]]:
    o = tables.orders
    rows = conn.execute(select(o).where(o.c.status == status).order_by(o.c.updated_at).limit(limit))
    return [order_view(row) for row in rows]
