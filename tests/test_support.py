"""Tests that the test-support fixtures really do what they promise."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import create_engine, inspect, make_url, text

from tests.support.ports import _ephemeral_low, free_port, free_run
from tests.support.postgres import DatabasePool, postgres_url_or_skip
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


@pytest.mark.parametrize("attempt", [1, 2])
def test_each_database_url_is_an_empty_database(database_url: str, attempt: int) -> None:
    # Each run creates a table; had an earlier run's database come back as it was
    # left, this run would find the table.
    engine = create_engine(database_url)
    try:
        assert inspect(engine).get_table_names() == []
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE marker (attempt INTEGER)"))
    finally:
        engine.dispose()


def _objects(url: str) -> dict[str, list[str]]:
    """What a test could have left in a database, by kind (PostgreSQL's own catalog left out)."""
    public = "JOIN pg_namespace n ON n.oid = {column} WHERE nspname = 'public'"
    queries = {
        "schemas": "SELECT nspname FROM pg_namespace"
        " WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'",
        "relations": "SELECT relname FROM pg_class " + public.format(column="relnamespace"),
        "types": "SELECT typname FROM pg_type " + public.format(column="typnamespace"),
        "functions": "SELECT proname FROM pg_proc " + public.format(column="pronamespace"),
        "public": "SELECT nspowner::regrole::text || ' ' || coalesce(nspacl::text, '')"
        " FROM pg_namespace WHERE nspname = 'public'",
    }
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {kind: sorted(conn.execute(text(query)).scalars()) for kind, query in queries.items()}
    finally:
        engine.dispose()


def test_a_pooled_database_comes_back_as_a_new_one_and_the_pool_drops_its_databases() -> None:
    pool = DatabasePool("pooltest")
    try:
        with pool.database() as url:
            new = _objects(url)
            engine = create_engine(url)  # left open, with a lock held, as a careless test might
            conn = engine.connect()
            conn.execute(text("CREATE TABLE marker (id SERIAL PRIMARY KEY, mood TEXT)"))
            conn.execute(text("CREATE TYPE mood AS ENUM ('ok')"))
            conn.execute(text("CREATE VIEW markers AS SELECT id FROM marker"))
            conn.execute(text("CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT 1'"))
            conn.execute(text("CREATE SCHEMA extra"))
            conn.execute(text("CREATE TABLE extra.marker (id INTEGER)"))
            conn.commit()
            conn.execute(text("LOCK TABLE marker IN ACCESS EXCLUSIVE MODE"))
            assert _objects(url) != new
        with pool.database() as again:
            assert again == url
            assert _objects(again) == new
        conn.invalidate()
        engine.dispose()
        names = [make_url(url).database]
        with pool.database() as one, pool.database() as two:
            names += [make_url(one).database, make_url(two).database]
    finally:
        pool.close()

    engine = create_engine(make_url(url).set(database="postgres"))
    try:
        with engine.connect() as conn:
            left = conn.execute(text("SELECT datname FROM pg_database WHERE datname = ANY(:names)"), {"names": names})
            assert left.scalars().all() == []
    finally:
        engine.dispose()


# Prints its ports, then holds its block until its standard input closes.
PORTS_OF_A_PROCESS = (
    "import json, sys; from tests.support.ports import free_port;"
    " print(json.dumps([free_port() for _ in range(300)]), flush=True); sys.stdin.read()"
)


def test_processes_picking_ports_at_once_never_get_the_same_one() -> None:
    root = Path(__file__).resolve().parents[1]
    others = [
        subprocess.Popen(
            [sys.executable, "-c", PORTS_OF_A_PROCESS], cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        for _ in range(2)
    ]
    try:
        mine = [free_port() for _ in range(300)]
        theirs = []
        for process in others:
            assert process.stdout is not None
            theirs.append(json.loads(process.stdout.readline()))  # all three processes are alive here
    finally:
        for process in others:
            process.communicate(timeout=60)

    # 300 each: more than a block, so each process's ports came round again, and never into another's.
    assert not set(mine) & set(theirs[0]) and not set(mine) & set(theirs[1]) and not set(theirs[0]) & set(theirs[1])
    every = mine + theirs[0] + theirs[1]
    # Below the range that outgoing connections take their source ports from.
    assert max(every) < _ephemeral_low()


def test_a_port_something_listens_on_is_not_handed_out() -> None:
    first = free_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", first + 1))
        squatter.listen()
        assert first + 1 not in [free_port() for _ in range(500)]


def test_a_run_of_ports_is_consecutive_free_and_skips_one_in_use() -> None:
    first = free_port()
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", first + 2))  # breaks the runs that would cover it
        squatter.listen()
        start = free_run(5)
        assert not start <= first + 2 < start + 5
    assert all(_free(port) for port in range(start, start + 5))
    assert free_port() not in range(start, start + 5)  # handed out: never given again


def _free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
