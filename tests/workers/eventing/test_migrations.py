"""Every database's Alembic history against its models, on SQLite and on PostgreSQL.

- an empty database upgraded to the head has exactly the models' schema (autogenerate finds
  nothing to change) and only its own service's tables and the backbone's;
- every downgrade undoes its upgrade;
- a model changed without a revision is caught by that same comparison;
- upgrading from the first revision keeps the rows that were there;
- a database made by ``create_all`` before migrations is adopted (stamped, upgraded) only
  if it matches, and is left untouched if it does not;
- ``make migrate`` brings every service's database to its head.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import JSON, Column, Float, MetaData, String, Table, insert, inspect, select, text

from tests.support.postgres import postgres_url_or_skip
from workers.eventing.database import Database
from workers.eventing.schema import VERSION_TABLE, Migrations, SchemaError, current, differences, upgrade

ROOT = Path(__file__).resolve().parents[3]
MODULES = [
    "workers.catalog.migrations",
    "workers.orders.migrations",
    "workers.payments.migrations",
    "workers.warehouse.migrations",
    "workers.shipping.migrations",
    "workers.email.migrations",
    "app.migrations",
]
BACKBONE = {"outbox", "inbox", "relay_lease"}


def migrations_of(module: str) -> Migrations:
    found = importlib.import_module(module).MIGRATIONS
    assert isinstance(found, Migrations)
    return found


@contextlib.contextmanager
def empty_database(kind: str, tmp_path: Path, metadata: MetaData) -> Iterator[Database]:
    if kind == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'db.sqlite3'}", metadata)
        yield db
        db.dispose()
        return
    for url in postgres_url_or_skip("migrations"):
        db = Database(url, metadata)
        try:
            yield db
        finally:
            db.dispose()


def sample_value(column: Column[Any], n: int) -> Any:
    """A value of the column's type, different for each ``n``."""
    if isinstance(column.type, JSON):
        return {"n": n}
    python_type = column.type.python_type
    if python_type is bool:
        return n % 2 == 0
    if python_type is int:
        return n
    if python_type is float:
        return n + 0.5
    if python_type is str:
        return f"v{n}"
    if python_type is datetime:
        return datetime(2026, 1, 1 + n, tzinfo=UTC)
    raise AssertionError(f"no sample for {column!r}")


def reflected(db: Database) -> MetaData:
    metadata = MetaData()
    with db.snapshot() as conn:
        metadata.reflect(conn)
    metadata.remove(metadata.tables[VERSION_TABLE])
    return metadata


def every_row(db: Database, metadata: MetaData) -> dict[str, list[tuple[Any, ...]]]:
    with db.snapshot() as conn:
        return {
            name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
            for name, table in sorted(metadata.tables.items())
        }


def test_every_history_is_tested_and_listed_in_the_makefile() -> None:
    on_disk = sorted(f"{p.parent.relative_to(ROOT)}".replace("/", ".") for p in ROOT.glob("*/**/migrations/versions"))
    assert sorted(MODULES) == on_disk
    makefile = (ROOT / "Makefile").read_text()
    listed = re.search(r"^MIGRATIONS :=((?:.*\\\n)*.*)$", makefile, re.MULTILINE)
    assert listed is not None
    assert sorted(listed.group(1).replace("\\", " ").split()) == sorted(MODULES)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("module", MODULES)
def test_an_empty_database_upgraded_to_the_head_is_the_models(module: str, kind: str, tmp_path: Path) -> None:
    migrations = migrations_of(module)
    with empty_database(kind, tmp_path, migrations.metadata) as db:
        upgrade(db, migrations)
        upgrade(db, migrations)  # a second process: nothing left to do

        with db.snapshot() as conn:
            assert current(conn) == migrations.head()
            assert differences(conn, migrations.metadata) == []
            names = set(inspect(conn).get_table_names())
        # Its own tables and the backbone's, none of another service's.
        assert names == set(migrations.metadata.tables) | {VERSION_TABLE}
        assert names >= BACKBONE

        # Every revision's downgrade undoes it (back to nothing), and the history goes up again.
        with db.engine.begin() as conn:
            command.downgrade(migrations.config(conn), "base")
        with db.snapshot() as conn:
            assert set(inspect(conn).get_table_names()) == {VERSION_TABLE}
        upgrade(db, migrations)
        with db.snapshot() as conn:
            assert differences(conn, migrations.metadata) == []


@pytest.mark.parametrize("module", MODULES)
def test_a_model_changed_without_a_revision_is_caught(module: str, tmp_path: Path) -> None:
    migrations = migrations_of(module)
    changed = MetaData()
    for table in migrations.metadata.tables.values():
        table.to_metadata(changed)
    first = sorted(changed.tables)[0]
    changed.tables[first].append_column(Column("added_without_a_revision", String(10), nullable=True))
    with empty_database("sqlite", tmp_path, migrations.metadata) as db:
        upgrade(db, migrations)
        with db.snapshot() as conn:
            found = differences(conn, changed)
    assert [(d[0], d[2], d[3].name) for d in found] == [("add_column", first, "added_without_a_revision")]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("module", MODULES)
def test_upgrading_from_the_first_revision_keeps_every_row(module: str, kind: str, tmp_path: Path) -> None:
    migrations = migrations_of(module)
    with empty_database(kind, tmp_path, migrations.metadata) as db:
        upgrade(db, migrations, migrations.first())
        before = reflected(db)
        with db.transaction() as conn:
            for table in before.sorted_tables:
                rows = [{c.name: sample_value(c, n) for c in table.columns} for n in (1, 2)]
                conn.execute(insert(table), rows)
        kept = every_row(db, before)
        assert all(len(rows) == 2 for rows in kept.values())

        upgrade(db, migrations)

        # Read through the first revision's tables: a dropped column or table fails here too.
        assert every_row(db, before) == kept
        with db.snapshot() as conn:
            assert current(conn) == migrations.head()


def made_before_migrations(db: Database, migrations: Migrations) -> None:
    """What ``create_all`` made before migrations existed: the first revision, no version table."""
    upgrade(db, migrations, migrations.first())
    with db.transaction() as conn:
        conn.execute(text(f"DROP TABLE {VERSION_TABLE}"))


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("module", ["app.migrations", "workers.orders.migrations"])
def test_a_database_from_before_migrations_is_stamped_and_upgraded(module: str, kind: str, tmp_path: Path) -> None:
    migrations = migrations_of(module)
    with empty_database(kind, tmp_path, migrations.metadata) as db:
        made_before_migrations(db, migrations)
        outbox = migrations.metadata.tables["outbox"]
        with db.transaction() as conn:
            conn.execute(insert(outbox).values(event_id="e1", stream="s", event_type="t", payload="{}", created_at=1.0))

        upgrade(db, migrations)

        with db.snapshot() as conn:
            assert current(conn) == migrations.head()
            assert differences(conn, migrations.metadata) == []
            assert conn.execute(select(outbox.c.event_id)).scalars().all() == ["e1"]


def test_an_older_versions_unused_table_does_not_stop_the_adoption(tmp_path: Path) -> None:
    migrations = migrations_of("workers.email.migrations")
    db = Database(f"sqlite:///{tmp_path / 'email.sqlite3'}", migrations.metadata)
    made_before_migrations(db, migrations)
    with db.transaction() as conn:
        conn.execute(text("CREATE TABLE notifications (order_id VARCHAR(64), status VARCHAR(20))"))

    upgrade(db, migrations)

    with db.snapshot() as conn:
        assert current(conn) == migrations.head()
        assert inspect(conn).has_table("notifications")
        # Only the adoption tolerates it: the models' own check still names it.
        assert [d[0] for d in differences(conn, migrations.metadata)] == ["remove_table"]
    db.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_database_from_before_migrations_that_differs_is_left_as_it_was(kind: str, tmp_path: Path) -> None:
    migrations = migrations_of("workers.shipping.migrations")
    with empty_database(kind, tmp_path, migrations.metadata) as db:
        made_before_migrations(db, migrations)
        with db.transaction() as conn:
            conn.execute(text("DROP INDEX ix_shipments_status"))

        with pytest.raises(SchemaError, match="ix_shipments_status"):
            upgrade(db, migrations)

        with db.snapshot() as conn:
            assert not inspect(conn).has_table(VERSION_TABLE)
            assert "ix_shipments_status" not in {i["name"] for i in inspect(conn).get_indexes("shipments")}


def test_a_staff_table_from_before_roles_and_migrations_gets_its_role_column(tmp_path: Path) -> None:
    migrations = migrations_of("app.migrations")
    old = MetaData()
    Table(
        "clerks",
        old,
        Column("username", String(100), primary_key=True),
        Column("password_hash", String(300), nullable=False),
        Column("created_at", Float, nullable=False),
    )
    db = Database(f"sqlite:///{tmp_path / 'gateway.sqlite3'}", migrations.metadata)
    made_before_migrations(db, migrations)
    with db.transaction() as conn:
        conn.execute(text("DROP TABLE clerks"))
        old.create_all(conn)
        conn.execute(insert(old.tables["clerks"]).values(username="kim", password_hash="x", created_at=0.0))

    upgrade(db, migrations)

    clerks = migrations.metadata.tables["clerks"]
    with db.snapshot() as conn:
        assert conn.execute(select(clerks.c.username, clerks.c.role)).all() == [("kim", "clerk")]
        assert current(conn) == migrations.head()
    db.dispose()


def test_make_migrate_brings_every_database_to_its_head(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    environ["DATA_DIR"] = str(tmp_path)
    for _ in range(2):  # and again: nothing to do
        done = subprocess.run(
            [sys.executable, "-m", "workers.eventing.migrate", *MODULES],
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    for module in MODULES:
        migrations = migrations_of(module)
        assert f"{migrations.service:<10} at {migrations.head()}" in done.stdout
        db = Database(f"sqlite:///{tmp_path / 'db' / f'{migrations.service}.sqlite3'}", migrations.metadata)
        with db.snapshot() as conn:
            assert current(conn) == migrations.head()
        db.dispose()
