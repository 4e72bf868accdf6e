"""The payments service with a simulated provider the test can inspect."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.support.harness import ServiceHarness
from workers.payments.bootstrap import SPEC, wire
from workers.payments.provider import SimulatedProvider


@pytest.fixture
def provider() -> SimulatedProvider:
    return SimulatedProvider()


@pytest.fixture
def payments(
    redis_url: str, database_url: str, tmp_path: Path, provider: SimulatedProvider
) -> Iterator[ServiceHarness]:
    """The payments service, wired to this test's provider."""
    spec = dataclasses.replace(SPEC, wire=partial(wire, provider=provider))
    harness = ServiceHarness(spec, redis_url=redis_url, database_url=database_url, data_dir=tmp_path)
    yield harness
    harness.close()
