"""A PostgreSQL database per service, created on first run.

The server is ``PGHOST``/``PGPORT``/``PGUSER``/``PGPASSWORD`` (libpq's own variables),
127.0.0.1:5432 as ``postgres`` by default; a ``<SERVICE>_DATABASE_URL`` already set wins.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from sqlalchemy import URL, create_engine, text
from sqlalchemy.pool import NullPool

from workers.contracts import SERVICES


def server_url(environ: Mapping[str, str], database: str = "postgres") -> URL:
    return URL.create(
        "postgresql+psycopg",
        username=environ.get("PGUSER") or "postgres",
        password=environ.get("PGPASSWORD") or None,
        host=environ.get("PGHOST") or "127.0.0.1",
        port=int(environ.get("PGPORT") or 5432),
        database=database,
    )


def database_urls(prefix: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``<SERVICE>_DATABASE_URL`` for every service: ``<prefix>_<service>``, created if missing."""
    env = dict(os.environ if environ is None else environ)
    urls: dict[str, str] = {}
    missing: list[str] = []
    for service in SERVICES:
        name = f"{service.upper()}_DATABASE_URL"
        if env.get(name):
            urls[name] = env[name]
            continue
        database = f"{prefix}_{service}"
        urls[name] = server_url(env, database).render_as_string(hide_password=False)
        missing.append(database)
    if missing:
        _create(server_url(env), missing)
    return urls


def _create(admin_url: URL, names: list[str]) -> None:
    # AUTOCOMMIT: CREATE DATABASE refuses to run in a transaction.
    admin = create_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            existing = set(conn.execute(text("SELECT datname FROM pg_database")).scalars())
            for name in names:
                if name not in existing:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
