"""The inbox: which events a consumer group has already applied.

Rows are written in the same transaction as the handler's effect, so an event that
is delivered again (a crash before XACK, a relay that published twice, a replayed
dead letter) is recognised and skipped.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable

from sqlalchemy import Connection, Insert, Select, Table, bindparam, insert, select


def already_processed(conn: Connection, inbox: Table, group: str, event_ids: Iterable[str]) -> set[str]:
    """The subset of ``event_ids`` this group has processed before."""
    ids = list(event_ids)
    if not ids:
        return set()
    return set(conn.scalars(_seen(inbox), {"group": group, "ids": ids}))


def record_processed(conn: Connection, inbox: Table, group: str, event_ids: Iterable[str]) -> None:
    """Remember these events as processed by this group (in the caller's transaction)."""
    now = time.time()
    rows = [{"group_name": group, "event_id": event_id, "processed_at": now} for event_id in event_ids]
    if rows:
        conn.execute(_record(inbox), rows)


# Built once per table: building a statement (and its cache key) per batch cost more
# than running it (profiled).
@functools.cache
def _seen(inbox: Table) -> Select[tuple[str]]:
    return select(inbox.c.event_id).where(
        inbox.c.group_name == bindparam("group"), inbox.c.event_id.in_(bindparam("ids", expanding=True))
    )


@functools.cache
def _record(inbox: Table) -> Insert:
    return insert(inbox)
