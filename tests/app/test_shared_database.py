"""The web process and the projector share the gateway's database file.

Both migrate it at start (under ``BEGIN IMMEDIATE`` on SQLite, an advisory lock on
PostgreSQL, so one waits for the other); only the web process bootstraps the clerk. Started at the same moment on a
fresh data dir, every process comes up.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.auth import accounts
from app.auth.passwords import Cost
from app.migrations import MIGRATIONS
from app.projector.bootstrap import SPEC
from app.read_model import tables
from app.read_model.tables import METADATA
from tests.support.postgres import postgres_url_or_skip
from tests.support.staff import TEST_SCRYPT_N
from workers.eventing import Database, Settings
from workers.eventing.schema import upgrade
from workers.eventing.service import open_runtime

ROLES = ("web", "projector", "web", "projector")
CHEAP = Cost(n=TEST_SCRYPT_N)


def start_up(role: str, database_url: str, barrier: Any) -> str:
    """What ``role``'s process does with the database at start (run in a process of its own)."""
    settings = Settings.from_env({"GATEWAY_DATABASE_URL": database_url, "REDIS_URL": "redis://127.0.0.1:1/0"})
    barrier.wait()
    if role == "web":
        db = Database(settings.database_url(SPEC.name), METADATA)
        upgrade(db, MIGRATIONS)
        accounts.ensure_clerk(db, "clerk", "a-password", cost=CHEAP)
    else:
        runtime = open_runtime(SPEC, settings)
        runtime.client.close()
        db = runtime.db
    db.dispose()
    return f"{role} up"


@contextlib.contextmanager
def fresh_database(kind: str, data_dir: Path) -> Iterator[str]:
    """The URL of a gateway database that does not exist yet (SQLite) or is empty (PostgreSQL)."""
    if kind == "sqlite":
        yield Settings.from_env({"DATA_DIR": str(data_dir)}).database_url(SPEC.name)
    else:
        yield from postgres_url_or_skip("gateway")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_web_and_projector_started_together_on_a_fresh_database_all_come_up(kind: str, tmp_path: Path) -> None:
    # A fork server that has imported the gateway once forks every process from it: each a
    # fresh process, without each importing everything again (as "spawn" would).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    with context.Manager() as manager, context.Pool(len(ROLES)) as pool:
        for attempt in range(3):
            with fresh_database(kind, tmp_path / f"fresh-{attempt}") as url:
                barrier = manager.Barrier(len(ROLES))

                answers = pool.starmap(start_up, [(role, url, barrier) for role in ROLES])

                assert answers == [f"{role} up" for role in ROLES]
                db = Database(url, METADATA)
                with db.snapshot() as conn:
                    assert conn.scalar(select(func.count()).select_from(tables.clerks)) == 1
                db.dispose()
