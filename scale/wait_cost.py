"""What ``WAIT 1`` costs the backbone: the relay's throughput, and one publish's round trip, with and without it.

``python -m scale.wait_cost [events]``: a primary, a replica and three sentinels on
loopback (tests/support/sentinel.py), one outbox on SQLite; the relay publishes the
same number of rows in batches of 500 with ``REDIS_WAIT_REPLICAS`` 0 and 1, and single
``XADD`` pipelines are timed both ways. Loopback is the best case: across machines
``WAIT`` adds one network round trip per batch.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.support.sentinel import ReplicatedRedis
from tests.workers.eventing.support import Node, event_types


def relay_rate(node: Node, events: int) -> float:
    for start in range(0, events, 100):
        node.publish(*range(start, min(start + 100, events)), aggregate_id=f"thing-{start}")
    began = time.perf_counter()
    sent = node.relay(batch_size=500).drain()
    assert sent == events, (sent, events)
    return events / (time.perf_counter() - began)


def single_publish_ms(node: Node, stream: str, rounds: int = 300) -> float:
    times = []
    for n in range(rounds):
        began = time.perf_counter()
        pipe = node.client.pipeline(transaction=False)
        pipe.xadd(stream, {"n": str(n)})
        pipe.execute()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def main(argv: list[str]) -> None:
    events = int(argv[0]) if argv else 20_000
    with tempfile.TemporaryDirectory(prefix="wait-cost-") as scratch, ReplicatedRedis(Path(scratch) / "redis") as redis:
        for wait in (0, 1) * 3:
            unique = f"w{wait}{time.monotonic_ns()}"
            kinds = event_types(unique)
            node = Node("service", f"sqlite:///{scratch}/{unique}.sqlite3", redis.target(wait_replicas=wait), kinds)
            try:
                rate = relay_rate(node, events)
                single = single_publish_ms(node, f"{unique}-single")
            finally:
                node.close()
            print(
                f"WAIT {wait}: relay {rate:,.0f} events/s ({events} rows, batches of 500); "
                f"one XADD pipeline {single:.3f} ms"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
