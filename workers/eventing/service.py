"""Running a worker process: the wiring every service shares.

A service describes itself with a ``ServiceSpec`` (its name, its tables, and a
``wire`` function that turns the runtime into handlers and timer ticks); this
module opens the database and Redis, starts the relay thread, runs the consumer in
the main thread and stops both cleanly on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import redis
from sqlalchemy import MetaData

from workers.eventing import heartbeat, metrics, tracing
from workers.eventing.consumer import Consumer, ConsumerSettings, Handler, Tick, default_consumer_name
from workers.eventing.database import Database
from workers.eventing.logs import setup_logging
from workers.eventing.outbox import Outbox
from workers.eventing.redis_client import connect
from workers.eventing.registry import Registry
from workers.eventing.relay import Relay
from workers.eventing.retention import RetentionPolicy
from workers.eventing.schema import Migrations, upgrade
from workers.eventing.settings import Settings
from workers.eventing.tables import backbone_tables

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What a service's wiring gets: its settings, database, outbox, Redis client and consumer settings.

    ``consumer`` is read from ``settings`` (``consumer_settings``), the one ``Settings`` of the process.
    """

    name: str
    settings: Settings
    db: Database
    outbox: Outbox
    client: redis.Redis
    consumer: ConsumerSettings


@dataclass
class Wiring:
    handlers: Mapping[str, Handler]
    ticks: Sequence[Tick] = ()
    on_start: Sequence[Callable[[], object]] = ()
    # Loops run in threads of their own beside the consumer, each until the stop event is set.
    background: Sequence[Callable[[threading.Event], object]] = ()
    # None: the runtime's, from the environment; a wiring that needs others derives them
    # from ``runtime.consumer`` (``dataclasses.replace``) so the environment still counts.
    consumer: ConsumerSettings | None = None
    # Rows younger than this are left to the process that wrote them (see Relay).
    relay_settle_s: float = 0.0


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    metadata: MetaData
    registry: Registry
    wire: Callable[[Runtime], Wiring]
    # The database's migration history; without one (tests) its tables are just created.
    migrations: Migrations | None = None


def open_runtime(spec: ServiceSpec, settings: Settings) -> Runtime:
    """Open the service's own database (migrated to the head) and its Redis client."""
    backbone_tables(spec.metadata)
    db = Database.for_service(settings, spec.name, spec.metadata)
    if spec.migrations is not None:
        upgrade(db, spec.migrations)
    else:
        db.create_tables()
    outbox = Outbox(db, spec.name, spec.registry)
    return Runtime(spec.name, settings, db, outbox, connect(settings.redis), consumer_settings(settings))


def consumer_of(runtime: Runtime, wiring: Wiring) -> ConsumerSettings:
    """The settings the service's consumer runs with: its wiring's, else its runtime's."""
    return wiring.consumer if wiring.consumer is not None else runtime.consumer


def consumer_settings(settings: Settings) -> ConsumerSettings:
    """Consumer settings from the environment (``MAX_DELIVERIES``, ``CLAIM_IDLE_MS``, ...).

    ``CONSUMER_NAME`` gives a replica a name that survives restarts (one per replica), so
    a restarted process drains its own pending list at once; by default the name is
    host and pid, and a dead process's entries are taken over after ``CLAIM_IDLE_MS``.
    """
    return ConsumerSettings(
        batch_size=settings.integer("CONSUMER_BATCH_SIZE", 200),
        claim_idle_ms=settings.integer("CLAIM_IDLE_MS", 30_000),
        max_deliveries=max(1, settings.integer("MAX_DELIVERIES", 5)),
        consumer_name=settings.text("CONSUMER_NAME") or default_consumer_name(),
    )


def run_service(spec: ServiceSpec, settings: Settings | None = None, *, process: str | None = None) -> None:
    """Run a worker until SIGTERM/SIGINT; the batch in hand is finished first.

    ``process`` names the process in its logs (default: the service's name).
    """
    settings = settings or Settings.from_env()
    setup_logging(process or spec.name, settings.environ)
    metrics_port = metrics.serve(settings, process or spec.name)
    tracing.setup_tracing(process or spec.name, settings)
    runtime = open_runtime(spec, settings)
    wiring = spec.wire(runtime)
    consuming = consumer_of(runtime, wiring)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    relay = Relay(
        runtime.outbox,
        runtime.client,
        owner=consuming.consumer_name,
        settle_s=wiring.relay_settle_s,
        retention=RetentionPolicy.from_settings(settings),
    )
    relay_thread = relay.start(stop)
    heartbeat.start(
        runtime.client,
        runtime.outbox,
        spec.name,
        consuming.consumer_name,
        stop,
        max(0.1, settings.number("HEARTBEAT_INTERVAL_S", heartbeat.INTERVAL_S)),
    )
    for hook in wiring.on_start:
        hook()
    background = [
        threading.Thread(target=task, args=(stop,), name=f"{spec.name}-background-{n}", daemon=True)
        for n, task in enumerate(wiring.background, start=1)
    ]
    for thread in background:
        thread.start()
    consumer = Consumer(
        runtime.outbox, runtime.client, spec.name, wiring.handlers, settings=consuming, ticks=wiring.ticks
    )
    log.info(
        "%s started (database %r, redis %s, metrics %s)",
        spec.name,
        runtime.db,
        settings.redis,
        f"on :{metrics_port}" if metrics_port else "off",
    )
    try:
        consumer.run(stop)
    finally:
        stop.set()
        relay_thread.join(timeout=5)
        for thread in background:
            thread.join(timeout=5)
        runtime.db.dispose()
        log.info("%s stopped", spec.name)
