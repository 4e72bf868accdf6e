"""The make scale layout: every process named once, each worker replica with its own consumer name."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from scale.layout import Layout, Ports, procfile


def layout(tmp_path: Path, port: int = 8000, redis_port: int = 6380) -> Layout:
    return Layout(tmp_path, Ports.derived(port, redis_port), {"ORDERS_DATABASE_URL": "postgresql+psycopg://x/orders"})


def test_every_worker_runs_twice_with_a_consumer_name_of_its_own_and_the_web_and_projector_as_planned(
    tmp_path: Path,
) -> None:
    processes = layout(tmp_path).applications()

    kinds = Counter(process.kind for process in processes)
    workers = set(procfile()) - {"web", "projector", "redis"}
    assert kinds == {"web": 2, "projector": 1, **dict.fromkeys(workers, 2)}
    names = [process.env["CONSUMER_NAME"] for process in processes if process.kind in workers]
    assert len(names) == len(set(names))
    assert [p.env["PORT"] for p in processes if p.kind == "web"] == ["8001", "8002"]


def test_every_process_finds_redis_through_the_three_sentinels(tmp_path: Path) -> None:
    env = layout(tmp_path).shared_env()

    assert env["REDIS_SENTINELS"] == "127.0.0.1:6382,127.0.0.1:6383,127.0.0.1:6384"
    assert env["ORDERS_DATABASE_URL"] == "postgresql+psycopg://x/orders"


def test_configs_are_kept_across_runs_but_rewritten_when_the_ports_change(tmp_path: Path) -> None:
    first = layout(tmp_path)
    first.write_configs()
    primary = tmp_path / "scale" / "primary.conf"
    primary.write_text(primary.read_text() + "# rewritten by Sentinel\n")

    first.write_configs()
    assert "# rewritten by Sentinel" in primary.read_text()

    layout(tmp_path, redis_port=7380).write_configs()
    assert "port 7380" in primary.read_text() and "# rewritten" not in primary.read_text()
