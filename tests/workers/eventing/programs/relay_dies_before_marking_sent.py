"""A relay that is killed (SIGKILL) right after its XADDs succeeded, before it marks the rows sent.

Run as ``python -m tests.workers.eventing.programs.relay_dies_before_marking_sent`` with
``REDIS_URL``, ``DATABASE_URL`` and ``UNIQUE`` (the test's event types) in the environment.
"""

from __future__ import annotations

import os
import signal

from sqlalchemy import Connection

from tests.workers.eventing.support import event_types, service_metadata
from workers.eventing import Database, Outbox, Relay
from workers.eventing.redis_client import connect


class DyingOutbox(Outbox):
    def mark_sent(self, conn: Connection, seqs: list[int]) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    events = event_types(os.environ["UNIQUE"])
    db = Database(os.environ["DATABASE_URL"], service_metadata())
    outbox = DyingOutbox(db, "service", events.registry)
    # A short lease, so the relay that takes over after the crash need not wait long.
    Relay(outbox, connect(os.environ["REDIS_URL"]), owner="doomed-relay", lease_ttl=1.0).drain()
    raise SystemExit("the relay published nothing")


if __name__ == "__main__":
    main()
