"""A service's schema, changed by its own Alembic migration history (one per database).

Every service keeps its revisions beside its tables (``workers/<service>/migrations/versions``,
the gateway's in ``app/migrations/versions``); they share this module's Alembic environment
(``workers/eventing/migrations``), which runs them on the connection it is given, in the
transaction it is given.

``upgrade`` runs at every process's start (where ``create_all`` used to), in one write
transaction: ``BEGIN IMMEDIATE`` on SQLite and an advisory lock on PostgreSQL make replicas
starting at once take turns, and the second finds the schema at head. ``make migrate`` runs
it for every service (workers/eventing/migrate.py).

A database made by ``create_all`` before migrations existed has tables but no
``alembic_version``: it is stamped with the first revision (which creates exactly that
schema), upgraded, and then compared with the models; if they differ the transaction is
rolled back (DDL is transactional on SQLite and PostgreSQL) and the start fails, naming the
differences (``make clean`` starts afresh).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, inspect, text

from workers.eventing.database import SCHEMA_LOCK, Database

log = logging.getLogger(__name__)

ENVIRONMENT = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"


class SchemaError(RuntimeError):
    """A database whose schema is not what its migrations would have made."""


@dataclass(frozen=True)
class Migrations:
    """A service's migration history: where its revisions are and the models its head must equal."""

    service: str
    versions: Path
    metadata: MetaData
    # Brings a database from before migrations up to the first revision's schema, if it can.
    legacy: Callable[[Connection], None] | None = None

    @classmethod
    def beside(cls, package_file: str, service: str, metadata: MetaData, **kwargs: Any) -> Migrations:
        """The history in the ``versions`` folder next to a ``migrations/__init__.py``."""
        return cls(service, Path(package_file).resolve().parent / "versions", metadata, **kwargs)

    def config(self, connection: Connection | None = None) -> Config:
        config = Config()
        config.set_main_option("script_location", str(ENVIRONMENT))
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", str(self.versions))
        config.set_main_option("version_table", VERSION_TABLE)
        config.attributes["connection"] = connection
        config.attributes["metadata"] = self.metadata
        return config

    def script(self) -> ScriptDirectory:
        return ScriptDirectory.from_config(self.config())

    def head(self) -> str:
        head = self.script().get_current_head()
        assert head is not None, f"{self.service} has no migrations"
        return head

    def first(self) -> str:
        base = self.script().get_base()
        assert base is not None, f"{self.service} has no migrations"
        return base


def differences(conn: Connection, metadata: MetaData, *, other_tables: bool = False) -> list[Any]:
    """What Alembic's autogenerate would change to make this database's schema the models'.

    ``other_tables=True`` leaves out tables the models do not name (an older version's
    unused table, such as email's ``notifications``) instead of reporting them to drop.
    """
    opts: dict[str, Any] = {"compare_type": True, "version_table": VERSION_TABLE}
    if other_tables:
        opts["include_name"] = lambda name, kind, _parent: kind != "table" or name in metadata.tables
    return list(compare_metadata(MigrationContext.configure(conn, opts=opts), metadata))


def current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade(db: Database, migrations: Migrations, revision: str = "head") -> None:
    """Bring the database to ``revision``; safe from several processes at once."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        names = set(inspect(conn).get_table_names())
        adopting = VERSION_TABLE not in names and bool(names & set(migrations.metadata.tables))
        if adopting:
            log.warning("%s: a database from before migrations; stamping its first revision", migrations.service)
            if migrations.legacy is not None:
                migrations.legacy(conn)
            command.stamp(migrations.config(conn), migrations.first())
        command.upgrade(migrations.config(conn), revision)
        if adopting and revision == "head":
            found = differences(conn, migrations.metadata, other_tables=True)
            if found:
                # Raising rolls the stamp and the upgrade back: the database is left as it was.
                raise SchemaError(
                    f"{migrations.service}'s database was not made by this code's tables "
                    f"(run `make clean` to start afresh): {found}"
                )
