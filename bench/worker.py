"""One worker process for the benchmark: the backbone's consumer runner and relay, as a service runs them.

Usage: ``python -m bench.worker REDIS_URL DATABASE_URL GROUP EVENTS [--no-relay]``. It sets
itself up, prints ``ready``, waits for a line on stdin, then consumes until it has
handled EVENTS events (each committed and acked) and prints one JSON line with its
wall and CPU time (all threads). ``--no-relay`` leaves the outbox unpublished, to show what the relay costs.
With ``BENCH_PROFILE=<file>`` the consumer loop runs under cProfile (stats to that file).
"""

from __future__ import annotations

import cProfile
import json
import logging
import math
import os
import sys
import threading
import time
from typing import Any

from bench.durable import METADATA, REGISTRY, AmountCounted, count_amount
from workers.eventing import Consumer, ConsumerSettings, Database, Outbox, Received, Relay, UnitOfWork
from workers.eventing.redis_client import connect
from workers.eventing.retention import RetentionPolicy


def main(argv: list[str]) -> None:
    redis_url, database_url, group, events = argv[0], argv[1], argv[2], int(argv[3])
    with_relay = "--no-relay" not in argv[4:]
    logging.basicConfig(level=logging.WARNING)
    db = Database(database_url, METADATA)
    outbox = Outbox(db, "bench", REGISTRY)
    client = connect(redis_url)
    stop = threading.Event()
    handled = 0

    def handler(event: Received[Any], uow: UnitOfWork) -> None:
        nonlocal handled
        count_amount(event, uow)
        handled += 1
        if handled >= events:
            stop.set()  # the runner finishes this batch (commit, XACK) and returns

    settings = ConsumerSettings(consumer_name=f"bench-{group}")
    consumer = Consumer(outbox, client, group, {AmountCounted.TYPE: handler}, settings=settings)
    consumer.ensure_groups()
    # No housekeeping turn: it would delete sent outbox rows that the run's check counts
    # (a turn comes every 10 s, and a run of 50,000 events can take longer).
    relay = Relay(outbox, client, owner=f"bench-{group}", retention=RetentionPolicy(interval_s=math.inf))
    print("ready", flush=True)
    sys.stdin.readline()

    started, cpu_started = time.perf_counter(), time.process_time()
    relay_stop = threading.Event()
    relay_thread = relay.start(relay_stop) if with_relay else None
    profile_path = os.environ.get("BENCH_PROFILE")
    if profile_path:
        cProfile.runctx("consumer.run(stop)", globals(), {"consumer": consumer, "stop": stop}, profile_path)
    else:
        consumer.run(stop)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    relay_stop.set()
    if relay_thread is not None:
        relay.wake()
        relay_thread.join()
    print(json.dumps({"events": handled, "seconds": elapsed, "cpu_seconds": cpu}), flush=True)
    db.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
