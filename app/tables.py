"""The gateway's own database: checkouts, idempotency keys, staff, sessions, the ops audit and the read model.

The read model (``products``, ``orders``) is projected from events; the gateway never
reads another service's database.
"""

from sqlalchemy import JSON, Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text

METADATA = MetaData()

checkouts = Table(
    "checkouts",
    METADATA,
    Column("order_id", String(64), primary_key=True),
    Column("token_hash", String(64), nullable=False),
    Column("submitted_at", Float, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    METADATA,
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("order_id", String(64), nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
)

clerks = Table(
    "clerks",
    METADATA,
    Column("username", String(100), primary_key=True),
    Column("password_hash", String(300), nullable=False),
    Column("created_at", Float, nullable=False),
    # The staff member's role (app.roles): "clerk" or "manager".
    Column("role", String(20), nullable=False, server_default="clerk"),
)

sessions = Table(
    "sessions",
    METADATA,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(100), nullable=False),
    Column("csrf_token", String(100), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

products = Table(
    "products",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("price_cents", Integer, nullable=False),
    Column("catalog_version", Integer, nullable=False),
    Column("on_hand", Integer, nullable=False, default=0),
    Column("reserved", Integer, nullable=False, default=0),
    Column("available", Integer, nullable=False, default=0),
    Column("stock_version", Integer, nullable=False, default=0),
    # Archived products stay (old orders and carts name them) but are not on sale.
    Column("archived", Boolean, nullable=False, default=False),
)

orders = Table(
    "orders",
    METADATA,
    Column("order_id", String(64), primary_key=True),
    Column("status", String(20), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("email", String(254), nullable=False),
    Column("snapshot", JSON, nullable=False),
    Column("dispatch_requested", Boolean, nullable=False, default=False),
    # The shopper asked to cancel: a clerk's dispatch is refused from then on (and the other way round).
    Column("cancel_requested", Boolean, nullable=False, default=False),
    # When it was placed (epoch seconds): the console's search pages by it, newest first.
    Column("placed_at", Float, nullable=False, default=0.0),
    Column("updated_at", Float, nullable=False),
)

# Staff search orders by status and time, a page at a time (newest first).
Index("ix_orders_placed_at", orders.c.placed_at, orders.c.order_id)

# A manager's catalog requests, until the catalog answers: the product id the gateway
# chose, and the refusal when the catalog says no (shown on the catalog page).
catalog_requests = Table(
    "catalog_requests",
    METADATA,
    Column("request_id", String(64), primary_key=True),
    Column("product_id", Integer, nullable=False, unique=True),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("status", String(20), nullable=False),  # requested, created, refused
    Column("field", String(40), nullable=True),
    Column("reason", Text, nullable=True),
    Column("requested_at", Float, nullable=False),
)

# How far the read model has got in each stream: a page is rendered together with the
# position it reflects, and its live socket replays what came after.
positions = Table(
    "positions",
    METADATA,
    Column("stream", String(100), primary_key=True),
    Column("last_id", String(40), nullable=False),
)

# Every retry and discard of a dead letter from the ops console: who, when, and what.
ops_audit = Table(
    "ops_audit",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("action", String(20), nullable=False),
    Column("dlq_id", String(40), nullable=False),
    Column("stream", String(100), nullable=False),
    Column("entry_id", String(40), nullable=False),
    Column("group_name", String(100), nullable=False),
    Column("event_type", String(100), nullable=False),
    # The entry id the retried event got back on its stream (retries only).
    Column("new_entry_id", String(40), nullable=True),
    Column("actor", String(100), nullable=False),
    Column("at", Float, nullable=False, index=True),
)
