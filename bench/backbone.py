"""Backbone throughput: one worker process with a durable handler against a bare XREADGROUP/XACK loop.

All readers drain the same pre-loaded stream on the same Redis (AOF with
``appendfsync always``, as in production), each through a consumer group of its own,
in interleaved rounds so that a busy moment on the machine hits them alike:

- *worker*: ``python -m bench.worker``, a real process running the backbone's
  ``Consumer`` (decode and validate, inbox, one row update, one outbox row, one commit
  per batch on SQLite with the production pragmas, XACK) with its relay thread
  publishing the outbox as it fills, as ``run_service`` runs them;
- *consumer only*: the same process without its relay thread (what the relay costs);
- *bare loop*: redis-py ``XREADGROUP`` and ``XACK`` with the same batch size, nothing else;
- *FastStream*: FastStream 0.7's Redis Streams subscriber (``python -m bench.faststream_peer``,
  from the optional ``bench`` dependencies) with the same durable handler, in ``batch=True``
  mode (one transaction per read) and in its default mode (one message, so one
  transaction, at a time; timed on the first ``default_events`` entries, as it is slow).
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import redis
from sqlalchemy import func, select

from bench.durable import INPUT_STREAM, METADATA, REGISTRY, counters, create_counters, sample_event
from bench.report import Figure, met, table
from tests.support.redis_server import RedisServer
from workers.eventing import Envelope
from workers.eventing.consumer import ConsumerSettings
from workers.eventing.database import Database
from workers.eventing.tables import backbone_tables

EVENTS = 50_000
ROUNDS = 3
PRELOAD_CHUNK = 1_000
WORKER_TIMEOUT_S = 600.0
FASTSTREAM_DEFAULT_EVENTS = 5_000
WORKER_TARGET = 10_000.0
RATIO_TARGET = 0.25
VS_FASTSTREAM_BATCH_TARGET = 1.0
VS_FASTSTREAM_DEFAULT_TARGET = 8.0


@dataclass(frozen=True, slots=True)
class BackboneResult:
    events: int
    entry_bytes: int
    worker: list[Figure]
    consumer_only: list[Figure]
    bare: list[Figure]
    faststream_batch: list[Figure]
    faststream_default: list[Figure]
    default_events: int

    @property
    def ratio(self) -> float:
        return median_rate(self.worker) / median_rate(self.bare)

    @property
    def vs_faststream_batch(self) -> float:
        return median_rate(self.worker) / median_rate(self.faststream_batch)

    @property
    def vs_faststream_default(self) -> float:
        return median_rate(self.worker) / median_rate(self.faststream_default)


def median_rate(figures: Sequence[Figure]) -> float:
    return statistics.median(figure.rate for figure in figures)


def run(
    workdir: Path, events: int = EVENTS, rounds: int = ROUNDS, default_events: int = FASTSTREAM_DEFAULT_EVENTS
) -> BackboneResult:
    """Start a Redis in ``workdir``, pre-load the stream, time every reader ``rounds`` times."""
    if importlib.util.find_spec("faststream") is None:
        raise RuntimeError("FastStream is not installed: pip install -e '.[bench]' (make bench does)")
    default_events = min(default_events, events)
    server = RedisServer(workdir / "redis")
    server.start()
    try:
        with server.client() as client:
            entry_bytes = preload(client, events)
            worker: list[Figure] = []
            consumer_only: list[Figure] = []
            bare: list[Figure] = []
            batch: list[Figure] = []
            default: list[Figure] = []
            for n in range(1, rounds + 1):
                worker.append(time_worker(client, server.url, workdir, f"worker-{n}", events, relay=True))
                consumer_only.append(time_worker(client, server.url, workdir, f"consumer-{n}", events, relay=False))
                bare.append(time_bare_loop(client, f"bare-{n}", events))
                batch.append(time_faststream(client, server.url, workdir, f"faststream-batch-{n}", events, batch=True))
                default.append(
                    time_faststream(client, server.url, workdir, f"faststream-default-{n}", default_events, batch=False)
                )
        return BackboneResult(events, entry_bytes, worker, consumer_only, bare, batch, default, default_events)
    finally:
        server.kill()


def preload(client: redis.Redis, events: int) -> int:
    """Put ``events`` encoded events on the input stream; return the size of one entry."""
    size = 0
    for start in range(0, events, PRELOAD_CHUNK):
        pipe = client.pipeline(transaction=False)
        for n in range(start, min(start + PRELOAD_CHUNK, events)):
            envelope = Envelope.wrap(
                sample_event(n), source="bench", aggregate_id=str(n), aggregate_version=1, correlation_id=str(n)
            )
            fields = REGISTRY.encode(envelope)
            size = sum(len(k) + len(v) for k, v in fields.items())
            pipe.xadd(INPUT_STREAM, cast(Any, fields))
        pipe.execute()
    return size


def time_worker(client: redis.Redis, redis_url: str, workdir: Path, group: str, events: int, relay: bool) -> Figure:
    """Run a worker process over the whole stream; it times itself from 'go' to its last XACK."""
    database_url = _prepare_reader(client, workdir, group)
    command = [sys.executable, "-m", "bench.worker", redis_url, database_url, group, str(events)]
    if not relay:
        command.append("--no-relay")
    figure = _time_process(command, group)
    check_worker_effects(client, database_url, group, events)
    return figure


def time_faststream(client: redis.Redis, redis_url: str, workdir: Path, group: str, events: int, batch: bool) -> Figure:
    """Run the FastStream peer over the first ``events`` entries; it times itself from 'go' to their last XACK."""
    database_url = _prepare_reader(client, workdir, group)
    command = [sys.executable, "-m", "bench.faststream_peer", redis_url, database_url, group, str(events)]
    if batch:
        command.append("--batch")
    figure = _time_process(command, group)
    check_worker_effects(client, database_url, group, events, prefix=not batch)
    return figure


def _prepare_reader(client: redis.Redis, workdir: Path, group: str) -> str:
    """A consumer group from the stream's start and a fresh database with every counter at zero; its URL."""
    client.xgroup_create(INPUT_STREAM, group, id="0")
    database_url = f"sqlite:///{workdir / f'{group}.sqlite3'}"
    db = Database(database_url, METADATA)
    backbone_tables(METADATA)
    create_counters(db)
    db.dispose()
    return database_url


def _time_process(command: list[str], group: str) -> Figure:
    """Start a reader process, tell it to go once it is ready, and read the JSON line it ends with."""
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdin is not None and process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{command[2]} ({group}) did not start")
        process.stdin.write("go\n")
        process.stdin.flush()
        line = process.stdout.readline()
        process.wait(WORKER_TIMEOUT_S)
    if process.returncode != 0 or not line:
        raise RuntimeError(f"{command[2]} ({group}) failed (exit {process.returncode})")
    report = json.loads(line)
    return Figure(group, int(report["events"]), float(report["seconds"]), float(report["cpu_seconds"]))


def time_bare_loop(client: redis.Redis, group: str, events: int) -> Figure:
    """XREADGROUP a batch, XACK it, until every entry was read: the floor of any consumer."""
    client.xgroup_create(INPUT_STREAM, group, id="0")
    batch = ConsumerSettings().batch_size
    read = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    while read < events:
        reply = cast(list[Any], client.xreadgroup(group, "bare", {INPUT_STREAM: ">"}, count=batch))
        for stream, items in reply:
            client.xack(stream, group, *[entry_id for entry_id, _ in items])
            read += len(items)
    return Figure(group, read, time.perf_counter() - started, time.process_time() - cpu_started)


def check_worker_effects(client: redis.Redis, database_url: str, group: str, events: int, prefix: bool = False) -> None:
    """A reader's figure counts only if every event was applied once and acked.

    ``prefix``: the reader timed the first ``events`` entries of a longer stream and
    checked their acks itself; entries it read past them may still be pending.
    """
    db = Database(database_url, METADATA)
    tables = backbone_tables(METADATA)
    try:
        with db.snapshot() as conn:
            applied = conn.scalar(select(func.sum(counters.c.version)))
            inbox = conn.scalar(select(func.count()).select_from(tables.inbox))
            outbox = conn.scalar(select(func.count()).select_from(tables.outbox))
    finally:
        db.dispose()
    pending = client.xpending(INPUT_STREAM, group)["pending"]
    if prefix:
        pending = 0
    if (applied, inbox, outbox, pending) != (events, events, events, 0):
        raise RuntimeError(
            f"{group} did not apply every event once: updates={applied} inbox={inbox} outbox={outbox} pending={pending}"
        )


def report(result: BackboneResult) -> str:
    """The figures as two tables: every round per reader, then the targets."""
    rounds = len(result.worker)
    readers = [
        ("worker process: consumer + relay thread", result.worker),
        ("worker process: consumer only, no relay", result.consumer_only),
        ("bare redis-py XREADGROUP/XACK loop", result.bare),
        ("FastStream 0.7, batch=True, 1 transaction/batch", result.faststream_batch),
        (f"FastStream 0.7, default, 1/message (first {result.default_events:,})", result.faststream_default),
    ]
    rows = [
        [
            name,
            *(f"{figure.rate:,.0f}" for figure in figures),
            f"{median_rate(figures):,.0f}",
            f"{statistics.median(figure.cpu_us_per_event for figure in figures):.1f}",
        ]
        for name, figures in readers
    ]
    worker_rate = median_rate(result.worker)
    targets = [
        ["worker events/s", f"{worker_rate:,.0f}", f"{WORKER_TARGET:,.0f}", met(worker_rate >= WORKER_TARGET)],
        ["worker / bare ratio", f"{result.ratio:.2f}", f"{RATIO_TARGET:.2f}", met(result.ratio >= RATIO_TARGET)],
        [
            "worker (publishing its outbox) / FastStream batch",
            f"{result.vs_faststream_batch:.2f}",
            f"{VS_FASTSTREAM_BATCH_TARGET:.1f}",
            met(result.vs_faststream_batch >= VS_FASTSTREAM_BATCH_TARGET),
        ],
        [
            "worker / FastStream default",
            f"{result.vs_faststream_default:.1f}",
            f"{VS_FASTSTREAM_DEFAULT_TARGET:.0f}",
            met(result.vs_faststream_default >= VS_FASTSTREAM_DEFAULT_TARGET),
        ],
    ]
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    return "\n".join(
        [
            f"Event backbone: {result.events:,} events of {result.entry_bytes} bytes per round on one stream;",
            "Redis AOF appendfsync always; worker: SQLite WAL synchronous=FULL, batches of "
            f"{ConsumerSettings().batch_size}, inbox row + row update + outbox row per event.",
            "FastStream: the same handler and SQLite, XACK after the handler, reads of the same size; it",
            "writes the outbox rows but does not publish them (the worker's relay does).",
            "",
            table(["reader (events/s)", *(f"round {n}" for n in range(1, rounds + 1)), "median", "CPU µs/event"], rows),
            "",
            table(["measure", "value", "target", "met"], targets),
            "",
            f"(load average after the run: {load}, on {os.cpu_count()} CPUs; other work on the machine skews these)",
        ]
    )
