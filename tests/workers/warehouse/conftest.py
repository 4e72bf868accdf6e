"""A warehouse wired as in production, against this test's Redis and database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.harness import ServiceHarness
from workers.warehouse.bootstrap import SPEC


@pytest.fixture
def warehouse(redis_url: str, database_url: str, tmp_path: Path) -> Iterator[ServiceHarness]:
    """The warehouse service, once on SQLite and once on PostgreSQL."""
    harness = ServiceHarness(SPEC, redis_url=redis_url, database_url=database_url, data_dir=tmp_path)
    try:
        yield harness
    finally:
        harness.close()
