"""Table models shared by every service: the column shapes they repeat, and the backbone's own tables.

Every service (and the gateway) has its own database, so each declares its tables on its own
base class, whose ``registry()`` holds its own ``MetaData`` (SQLModel's default
``SQLModel.metadata`` would put every service's tables in one schema)::

    class CatalogTable(SQLModel, registry=registry()):
        '''The catalog database's tables.'''

The models are for declaring the schema (and Alembic's autogenerate): the hot paths build
SQLAlchemy Core statements once, on the models' tables (``table_of(Model)``), never through
an ORM session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

INBOX_AGE_INDEX = "ix_inbox_processed_at"

# An ever-growing sequence number: BigInteger becomes INTEGER PRIMARY KEY (the rowid) on
# SQLite only as Integer, hence the variant.
SEQUENCE = BigInteger().with_variant(Integer, "sqlite")


def table_of(model: type[SQLModel]) -> Table:
    """The Core table a table model declared (what the hot paths build their statements on)."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def string(length: int, **field: Any) -> Any:
    """A ``VARCHAR(length)`` column (a bare ``str`` would be SQLModel's own AutoString type)."""
    return Field(sa_type=String(length), **field)


def key(length: int = 64) -> Any:
    """A string primary key: an order's, a payment's or a shipment's id."""
    return string(length, primary_key=True)


def text(**field: Any) -> Any:
    """An unbounded ``TEXT`` column."""
    return Field(sa_type=Text, **field)


def json(**field: Any) -> Any:
    """A JSON column (encoded with orjson: workers/eventing/database.py)."""
    return Field(sa_type=JSON, **field)


def sequence() -> Any:
    """An autoincrementing ``SEQUENCE`` primary key: the order rows are written (and read) in."""
    return Field(default=None, primary_key=True, sa_type=SEQUENCE, sa_column_kwargs={"autoincrement": True})


class OutboxColumns(SQLModel):
    """An event staged in the transaction that caused it; the relay publishes it in ``seq`` order."""

    seq: int | None = sequence()
    event_id: str = string(64, unique=True)
    stream: str = string(100)
    event_type: str = string(100)
    payload: str = text()
    created_at: float
    sent_at: float | None = None


class InboxColumns(SQLModel):
    """An event a consumer group has applied: a redelivered one is skipped."""

    group_name: str = key(100)
    event_id: str = key(64)
    processed_at: float


class RelayLeaseColumns(SQLModel):
    """Which process relays this database's outbox, until when."""

    name: str = key(50)
    owner: str = string(200)
    expires_at: float


@dataclass(frozen=True, slots=True)
class BackboneTables:
    outbox: Table
    inbox: Table
    lease: Table


def backbone_tables(metadata: MetaData) -> BackboneTables:
    """The outbox, inbox and relay-lease tables of this metadata, declared once."""
    if "outbox" not in metadata.tables:
        _declare(metadata)
    return BackboneTables(
        outbox=metadata.tables["outbox"],
        inbox=metadata.tables["inbox"],
        lease=metadata.tables["relay_lease"],
    )


def _declare(metadata: MetaData) -> None:
    class Backbone(SQLModel, registry=registry(metadata=metadata)):
        """The backbone's tables, in the database of the service whose metadata this is."""

    class Outbox(OutboxColumns, Backbone, table=True):
        __tablename__ = "outbox"

    class Inbox(InboxColumns, Backbone, table=True):
        __tablename__ = "inbox"

    class RelayLease(RelayLeaseColumns, Backbone, table=True):
        __tablename__ = "relay_lease"

    outbox, inbox = table_of(Outbox), table_of(Inbox)
    Index("ix_outbox_unsent", outbox.c.sent_at, outbox.c.seq)
    # Retention deletes a group's oldest rows first (workers/eventing/retention.py).
    Index(INBOX_AGE_INDEX, inbox.c.group_name, inbox.c.processed_at)
