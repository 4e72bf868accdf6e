"""``make migrate``: every named service's database to its head; and a service's next revision.

    python -m workers.eventing.migrate workers.catalog.migrations app.migrations ...
    python -m workers.eventing.migrate --revision "what changes" workers.catalog.migrations

Each module names a ``MIGRATIONS`` (workers/eventing/schema.py); the databases are those of
the current settings (``DATA_DIR``, ``<SERVICE>_DATABASE_URL``).
"""

from __future__ import annotations

import importlib
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from alembic import command

from workers.eventing.database import Database
from workers.eventing.schema import Migrations, current, upgrade
from workers.eventing.settings import Settings


def load(module: str) -> Migrations:
    found = getattr(importlib.import_module(module), "MIGRATIONS", None)
    if not isinstance(found, Migrations):
        raise SystemExit(f"{module} has no MIGRATIONS")
    return found


def new_revision(migrations: Migrations, message: str) -> Path:
    """Write the revision that takes the history's head to the models (Alembic's autogenerate).

    It compares the models with a scratch SQLite database upgraded to the head; read what it
    wrote before committing it (autogenerate cannot tell a rename from a drop and an add).
    """
    with tempfile.TemporaryDirectory() as scratch:
        db = Database(f"sqlite:///{Path(scratch) / 'head.sqlite3'}", migrations.metadata)
        try:
            upgrade(db, migrations)
            number = len(list(migrations.script().walk_revisions())) + 1
            with db.engine.begin() as conn:
                written = command.revision(migrations.config(conn), message, autogenerate=True, rev_id=f"{number:04d}")
        finally:
            db.dispose()
    assert written is not None and not isinstance(written, list)
    return Path(written.path)


def main(argv: Sequence[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.migration").setLevel(logging.INFO)  # "Running upgrade ..."
    if argv[:1] == ["--revision"]:
        if len(argv) != 3:
            raise SystemExit("usage: python -m workers.eventing.migrate --revision MESSAGE MODULE")
        print(f"wrote {new_revision(load(argv[2]), argv[1])}")
        return 0
    settings = Settings.from_env()
    for module in argv:
        migrations = load(module)
        db = Database.for_service(settings, migrations.service, migrations.metadata)
        try:
            upgrade(db, migrations)
            with db.snapshot() as conn:
                print(f"{migrations.service:<10} at {current(conn)}  {db!r}")
        finally:
            db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
