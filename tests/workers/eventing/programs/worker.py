"""A worker process running the test event types through ``run_service``, as every service runs.

Its handler records an effect and publishes a ``Followed``, in one transaction. Run as
``python -m tests.workers.eventing.programs.worker`` with ``REDIS_URL``,
``PROBE_DATABASE_URL``, ``UNIQUE``, ``CONSUMER_NAME``, ``CLAIM_IDLE_MS`` and, to crash it:
- ``DIE=after_commit``: SIGKILL right after its first transaction commits, before XACK;
- ``DIE=in_handler``: SIGKILL in the handler of the first event, before any commit.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
from typing import Any

from sqlalchemy import insert

from tests.workers.eventing.support import event_types, service_metadata
from workers.eventing import Received, Runtime, ServiceSpec, UnitOfWork, Wiring, run_service

NAME = "probe"


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def wire(runtime: Runtime) -> Wiring:
    events = event_types(runtime.settings.text("UNIQUE"))
    effects = runtime.db.metadata.tables["effects"]
    die = runtime.settings.text("DIE")
    settings = dataclasses.replace(runtime.consumer, block_ms=100, retry_delay_s=0.01)

    def handle(event: Received[Any], uow: UnitOfWork) -> None:
        if die == "in_handler":
            _die()
        uow.conn.execute(
            insert(effects).values(event_id=event.envelope.id, n=event.data.n, consumer=settings.consumer_name)
        )
        uow.publish(events.followed(n=event.data.n), aggregate_id=event.envelope.aggregate_id, aggregate_version=1)

    if die == "after_commit":
        runtime.outbox.on_commit(_die)  # called after a commit that published, before the runner's XACK
    return Wiring(handlers={events.happened.TYPE: handle}, consumer=settings)


def main() -> None:
    events = event_types(os.environ["UNIQUE"])
    # The crash tests read the consumer's per-event lines, which are DEBUG; run_service's
    # own logging set-up keeps this one (basicConfig configures only once).
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("workers.eventing.consumer").setLevel(logging.DEBUG)
    run_service(ServiceSpec(name=NAME, metadata=service_metadata(), registry=events.registry, wire=wire))


if __name__ == "__main__":
    main()
