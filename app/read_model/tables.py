"""The gateway's own database: checkouts, idempotency keys, staff, sessions, the ops audit and the read model.

The read model (``products``, ``orders``) is projected from events; the gateway never
reads another service's database.
"""

from typing import Any

from sqlalchemy import Index
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from workers.eventing.tables import backbone_tables, json, key, string, table_of, text


class GatewayTable(SQLModel, registry=registry()):
    """The gateway database's tables."""


class Checkout(GatewayTable, table=True):
    __tablename__ = "checkouts"
    order_id: str = key()
    token_hash: str = string(64)
    submitted_at: float


class IdempotencyKey(GatewayTable, table=True):
    __tablename__ = "idempotency_keys"
    key: str = key(200)
    request_hash: str = string(64)
    order_id: str = string(64)
    response: dict[str, Any] = json()
    # Pruning deletes the oldest keys a batch at a time (app/pruning.py): without the index
    # every prune read the whole table.
    created_at: float = Field(index=True)


class Clerk(GatewayTable, table=True):
    __tablename__ = "clerks"
    username: str = key(100)
    password_hash: str = string(300)
    created_at: float
    # The staff member's role (app.roles): "clerk" or "manager".
    role: str = string(20, sa_column_kwargs={"server_default": "clerk"})


class Session(GatewayTable, table=True):
    __tablename__ = "sessions"
    token_hash: str = key(64)
    username: str = string(100)
    csrf_token: str = string(100)
    created_at: float
    expires_at: float


class Product(GatewayTable, table=True):
    __tablename__ = "products"
    id: int = Field(primary_key=True)
    sku: str = string(64)
    name: str = string(200)
    description: str = text()
    price_cents: int
    catalog_version: int
    on_hand: int = 0
    reserved: int = 0
    available: int = 0
    stock_version: int = 0
    # Archived products stay (old orders and carts name them) but are not on sale.
    archived: bool = False


class Order(GatewayTable, table=True):
    __tablename__ = "orders"
    order_id: str = key()
    status: str = string(20, index=True)
    version: int
    email: str = string(254)
    snapshot: dict[str, Any] = json()
    dispatch_requested: bool = False
    # The shopper asked to cancel: a clerk's dispatch is refused from then on (and the other way round).
    cancel_requested: bool = False
    # When it was placed (epoch seconds): the console's search pages by it, newest first.
    placed_at: float = 0.0
    updated_at: float


class CatalogRequest(GatewayTable, table=True):
    """A manager's catalog request, until the catalog answers.

    The product id the gateway chose, and the refusal when the catalog says no (shown on the catalog page).
    """

    __tablename__ = "catalog_requests"
    request_id: str = key()
    product_id: int = Field(unique=True)
    sku: str = string(64)
    name: str = string(200)
    status: str = string(20)  # requested, created, refused
    field: str | None = string(40, default=None)
    reason: str | None = text(default=None)
    requested_at: float


class Position(GatewayTable, table=True):
    """How far the read model has got in a stream.

    A page is rendered together with the position it reflects, and its live socket replays what came after.
    """

    __tablename__ = "positions"
    stream: str = key(100)
    last_id: str = string(40)


class OpsAudit(GatewayTable, table=True):
    """A retry or discard of a dead letter from the ops console: who, when, and what."""

    __tablename__ = "ops_audit"
    id: int | None = Field(default=None, primary_key=True, sa_column_kwargs={"autoincrement": True})
    action: str = string(20)
    dlq_id: str = string(40)
    stream: str = string(100)
    entry_id: str = string(40)
    group_name: str = string(100)
    event_type: str = string(100)
    # The entry id the retried event got back on its stream (retries only).
    new_entry_id: str | None = string(40, default=None)
    actor: str = string(100)
    at: float = Field(index=True)


METADATA = GatewayTable.metadata
checkouts = table_of(Checkout)
idempotency_keys = table_of(IdempotencyKey)
clerks = table_of(Clerk)
sessions = table_of(Session)
products = table_of(Product)
orders = table_of(Order)
catalog_requests = table_of(CatalogRequest)
positions = table_of(Position)
ops_audit = table_of(OpsAudit)
backbone_tables(METADATA)

# Staff search orders by status and time, a page at a time (newest first).
Index("ix_orders_placed_at", orders.c.placed_at, orders.c.order_id)
