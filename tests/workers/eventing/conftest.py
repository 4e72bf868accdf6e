"""Fixtures of the backbone's tests: this test's event types and a service built on them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.workers.eventing.support import Events, Node, event_types


@pytest.fixture
def events(unique: str) -> Events:
    """Event types of this test only, on streams of their own."""
    return event_types(unique)


@pytest.fixture
def node(database_url: str, redis_url: str, events: Events) -> Iterator[Node]:
    """A service on SQLite and on PostgreSQL (the test runs once with each)."""
    service = Node("service", database_url, redis_url, events)
    yield service
    service.close()


@pytest.fixture
def sqlite_node(sqlite_url: str, redis_url: str, events: Events) -> Iterator[Node]:
    """A service on SQLite, the default database."""
    service = Node("service", sqlite_url, redis_url, events)
    yield service
    service.close()
