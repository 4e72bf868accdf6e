"""The catalog's own database."""

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from workers.eventing.tables import backbone_tables, string, table_of, text


class CatalogTable(SQLModel, registry=registry()):
    """The catalog database's tables."""


class Product(CatalogTable, table=True):
    __tablename__ = "products"
    id: int = Field(primary_key=True)
    sku: str = string(64, unique=True)
    name: str = string(200)
    description: str = text()
    price_cents: int
    # Off sale: kept, since orders name it, and can be brought back.
    archived: bool = False
    version: int


METADATA = CatalogTable.metadata
products = table_of(Product)
backbone_tables(METADATA)
