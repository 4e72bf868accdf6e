"""The backbone's own tables, added to each service's metadata (its own database)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Float, Index, Integer, MetaData, String, Table, Text

INBOX_AGE_INDEX = "ix_inbox_processed_at"


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
    outbox = Table(
        "outbox",
        metadata,
        # Publishing order is seq order; BigInteger becomes INTEGER PRIMARY KEY (the rowid)
        # on SQLite only as Integer, hence the variant.
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("stream", String(100), nullable=False),
        Column("event_type", String(100), nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", Float, nullable=False),
        Column("sent_at", Float, nullable=True),
    )
    Index("ix_outbox_unsent", outbox.c.sent_at, outbox.c.seq)
    inbox = Table(
        "inbox",
        metadata,
        Column("group_name", String(100), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("processed_at", Float, nullable=False),
    )
    # Retention deletes a group's oldest rows first (workers/eventing/retention.py).
    Index(INBOX_AGE_INDEX, inbox.c.group_name, inbox.c.processed_at)
    Table(
        "relay_lease",
        metadata,
        Column("name", String(50), primary_key=True),
        Column("owner", String(200), nullable=False),
        Column("expires_at", Float, nullable=False),
    )
