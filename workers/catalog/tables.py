"""The catalog's own database."""

from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, Text

METADATA = MetaData()

products = Table(
    "products",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("sku", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("price_cents", Integer, nullable=False),
    # Off sale: kept, since orders name it, and can be brought back.
    Column("archived", Boolean, nullable=False, default=False),
    Column("version", Integer, nullable=False),
)
