"""The hook for ``make bench``: the scaled layout under the benchmark's own honcho runner.

``python -m scale`` takes the ports the single-process stack takes (``PORT`` becomes the
balancer's, ``REDIS_PORT`` the first Redis node's) and replaces itself with honcho, so a
runner that starts ``honcho start -f Procfile`` can start ``COMMAND`` instead with
``scaled_env()`` added, and measure both layouts in one run:

    stack = HonchoStack(data_dir, env=scaled_env(prefix), command=COMMAND)
    ...
    drop_databases(prefix)

The web processes listen on ``PORT + 1`` and ``PORT + 2``, the replica and the sentinels
on ``REDIS_PORT + 1`` to ``+ 4``.
"""

from __future__ import annotations

import sys

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from scale.databases import server_url
from workers.contracts import SERVICES

COMMAND = (sys.executable, "-m", "scale")


def scaled_env(prefix: str) -> dict[str, str]:
    """Settings for one benchmark run: its own PostgreSQL databases, no per-address limits."""
    return {
        "SCALE_DATABASE_PREFIX": prefix,
        # One address sends every request of a benchmark: the abuse limits would refuse it.
        "CHECKOUT_RATE_LIMIT": "0",
        "WS_MAX_PER_ADDRESS": "0",
    }


def drop_databases(prefix: str, environ: dict[str, str] | None = None) -> None:
    """Drop the run's databases (``<prefix>_<service>``) once its stack has stopped."""
    admin = create_engine(server_url(environ or {}), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for service in SERVICES:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{prefix}_{service}" WITH (FORCE)'))
    finally:
        admin.dispose()
