"""Fresh PostgreSQL databases for a chaos run (``--postgres``), one per service, dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from tests.support.postgres import postgres_url_or_skip
from workers.contracts import SERVICES


@contextmanager
def postgres_databases() -> Iterator[dict[str, str]]:
    """``<SERVICE>_DATABASE_URL`` of a new database per service on ``TEST_POSTGRES_URL``'s server.

    Raises pytest's skip outcome, naming the server, when it does not answer.
    """
    fresh_database = contextmanager(postgres_url_or_skip)
    with ExitStack() as stack:
        yield {
            f"{service.upper()}_DATABASE_URL": stack.enter_context(fresh_database(f"chaos_{service}"))
            for service in SERVICES
        }
