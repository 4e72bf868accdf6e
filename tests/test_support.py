"""Tests that the test-support fixtures really do what they promise."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import create_engine, inspect, make_url, text

from tests.support.ports import free_port
from tests.support.postgres import postgres_url_or_skip
from tests.support.redis_server import FORBIDDEN_PORT, RedisServer


def test_redis_server_answers_ping_on_its_own_port(redis_server: RedisServer) -> None:
    assert redis_server.port != FORBIDDEN_PORT
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    with redis_server.client() as client:
        assert client.ping()
        assert client.info("server")["tcp_port"] == redis_server.port


def test_redis_refuses_the_machines_own_port(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="6379"):
        RedisServer(tmp_path, port=FORBIDDEN_PORT)


def test_redis_start_failure_reports_the_log(redis_server: RedisServer, tmp_path: Path) -> None:
    intruder = RedisServer(tmp_path / "other", port=redis_server.port)
    with pytest.raises(RuntimeError, match="Address already in use"):
        intruder.start()
    assert not intruder.is_running


def test_stream_entry_survives_kill_and_restart(redis_server: RedisServer, unique: str) -> None:
    stream = f"events-{unique}"
    with redis_server.client() as client:
        entry_id = client.xadd(stream, {"kind": "created"})
        redis_server.kill()
        assert not redis_server.is_running
        # No retries: redis-py 8 by default retries 10 times (~3 s) first.
        probe = redis.Redis.from_url(redis_server.url, retry=Retry(NoBackoff(), 0))
        with probe, pytest.raises(redis.ConnectionError):
            probe.ping()

        redis_server.restart()
        # The same client reconnects: the port did not change.
        assert client.xrange(stream) == [(entry_id, {b"kind": b"created"})]


def test_empty_restart_loses_data_but_keeps_port(redis_server: RedisServer, unique: str) -> None:
    port = redis_server.port
    with redis_server.client() as client:
        client.xadd(f"events-{unique}", {"kind": "created"})
        redis_server.kill()
        redis_server.restart(empty=True)
        assert redis_server.port == port
        assert client.dbsize() == 0


def test_postgres_database_answers_select_1(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_postgres_database_is_dropped_afterwards() -> None:
    databases = postgres_url_or_skip("droptest")
    url = next(databases)
    name = make_url(url).database
    databases.close()  # runs the helper's teardown, as pytest would

    engine = create_engine(make_url(url).set(database="postgres"))
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                text("SELECT count(*) FROM pg_database WHERE datname = :name"),
                {"name": name},
            ).scalar_one()
    finally:
        engine.dispose()
    assert exists == 0


@pytest.mark.parametrize(("ci", "outcome"), [("", pytest.skip.Exception), ("true", pytest.fail.Exception)])
def test_unreachable_postgres_skips_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    # Nothing listens on a just-freed port, so the connection is refused at once.
    monkeypatch.setenv(
        "TEST_POSTGRES_URL",
        f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres",
    )
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="PostgreSQL not reachable at"):
        next(postgres_url_or_skip("unreachable"))


_seen_database_urls: set[str] = set()


@pytest.mark.parametrize("attempt", [1, 2])
def test_each_database_url_is_a_distinct_empty_database(database_url: str, attempt: int) -> None:
    # Each run creates a table; if two runs shared a database, the second
    # would find it, so "empty" proves isolation, not just a new URL string.
    assert database_url not in _seen_database_urls
    _seen_database_urls.add(database_url)
    engine = create_engine(database_url)
    try:
        assert inspect(engine).get_table_names() == []
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE marker (attempt INTEGER)"))
    finally:
        engine.dispose()
