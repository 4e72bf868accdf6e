"""The catalog service, run by a harness against this test's Redis and database (no demo seed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.harness import ServiceHarness, harnesses
from workers.catalog.bootstrap import SPEC


@pytest.fixture
def catalog(redis_url: str, database_url: str, tmp_path: Path) -> Iterator[ServiceHarness]:
    with harnesses(SPEC, redis_url=redis_url, database_url=database_url, data_dir=tmp_path) as start:
        yield start({"SEED_DEMO_CATALOG": "0"})
