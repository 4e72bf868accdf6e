"""Waiting until the system has settled: every group caught up and acked, every outbox empty, every email sent.

The same figures ``python -m workers.ops status`` shows, read directly. Quiet
must also last a moment: a handler commits its outbox rows before it acks, and the
relay (polling every 0.5 s) and the simulated carrier (on a timer) act just after.
"""

from __future__ import annotations

import time
from typing import Any

import redis

from chaos import truth
from tests.system.observe import fingerprint, streams
from workers.contracts import SERVICES
from workers.eventing.ops import outbox_backlogs
from workers.eventing.redis_client import as_text
from workers.eventing.settings import Settings


def lagging_groups(client: redis.Redis) -> list[str]:
    """Groups that have entries not yet delivered or not yet acked, as ``stream/group``."""
    behind = []
    for stream in streams(client):
        last = as_text(client.xinfo_stream(stream)["last-generated-id"])
        groups: list[dict[str, Any]] = client.xinfo_groups(stream)
        for group in groups:
            lag = group.get("lag")
            # Redis reports no lag when it cannot count it; the last delivered id then tells.
            read_all = lag == 0 if lag is not None else as_text(group["last-delivered-id"]) == last
            if int(group["pending"]) or not read_all:
                behind.append(f"{stream}/{as_text(group['name'])}")
    return behind


def wait_for_quiet(client: redis.Redis, settings: Settings, quiet_s: float = 2.0, timeout: float = 180.0) -> float:
    """Block until nothing is behind and nothing changes for ``quiet_s``; return the seconds waited.

    Raises ``TimeoutError`` naming what is still behind.
    """
    started = time.monotonic()
    stable_since: float | None = None
    previous: object = None
    while True:
        now = time.monotonic()
        behind = lagging_groups(client)
        # Emails recorded but not sent wait like outbox rows (a killed sender's claims run out first).
        backlogs = {**outbox_backlogs(settings, SERVICES), "email notifications": truth.emails_unsent(settings)}
        state = (fingerprint(client), tuple(sorted(backlogs.items())))
        if behind or any(backlogs.values()):
            stable_since = None
        elif state != previous or stable_since is None:
            stable_since = now
        elif now - stable_since >= quiet_s:
            return now - started
        previous = state
        if now - started > timeout:
            waiting = {name: n for name, n in backlogs.items() if n}
            raise TimeoutError(f"no quiet after {timeout:.0f}s: groups behind {behind}, outbox backlogs {waiting}")
        time.sleep(0.2)
