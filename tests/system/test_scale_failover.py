"""The scaled layout under load keeps every order through a Redis failover and a web process's death.

One run of scale/failover.py (about 15 processes, a minute or two): the replica lags,
the Redis primary is ``kill -9``ed and Sentinel promotes the replica; later web1 is
``kill -9``ed while HAProxy sends its clients to web2. ``python -m scale.failover
--no-wait`` is the same run without WAIT, which loses acknowledged events.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.databases import postgres_databases
from scale.failover import run_failover

pytestmark = pytest.mark.stack


def test_a_redis_failover_and_a_dead_web_process_lose_nothing_with_wait(tmp_path: Path) -> None:
    with postgres_databases() as databases:
        report = run_failover(tmp_path / "failover", wait=True, orders=40, rate=4.0, env=databases, cold=False)

    text = "\n".join(report.lines())
    assert report.accepted == report.orders, text
    assert report.lost_orders == 0 and not report.duplicated_effects, text
    assert report.acknowledged_lost == 0, text
    assert report.reconnects > 0, text  # some sockets were on the killed web process
    assert report.failed == [], text
