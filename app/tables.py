"""The gateway's own database: checkouts, idempotency keys, clerks, sessions and the read model.

The read model (``products``, ``orders``) is projected from events; the gateway never
reads another service's database.
"""

from sqlalchemy import JSON, Boolean, Column, Float, Integer, MetaData, String, Table, Text

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
    Column("updated_at", Float, nullable=False),
)

# How far the read model has got in each stream: a page is rendered together with the
# position it reflects, and its live socket replays what came after.
positions = Table(
    "positions",
    METADATA,
    Column("stream", String(100), primary_key=True),
    Column("last_id", String(40), nullable=False),
)
