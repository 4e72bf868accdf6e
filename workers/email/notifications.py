"""The recorded notifications: written by the handler, claimed and marked by the sender.

A sender claims the oldest due rows for a while (``claimed_until``) before it sends
them, so replicas sharing the database never send the same row at once; a claim left
by a sender that died runs out and the row is taken again (and sent again, with the
same ``Message-ID``). A sender always takes back its own claims at once: a replica
restarted under the same ``CONSUMER_NAME`` resends what it had in hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from workers.contracts.orders import OrderSnapshot
from workers.email.messages import message_id, notice
from workers.email.tables import notifications
from workers.eventing import Envelope

KEY = ("order_id", "status")


@dataclass(frozen=True, slots=True)
class Notification:
    """A recorded email, as the sender claims it."""

    seq: int
    order_id: str
    status: str
    message_id: str
    snapshot: str
    occurred_at: str
    attempts: int


COLUMNS = tuple(notifications.c[name] for name in Notification.__slots__)


def record(conn: Connection, order: OrderSnapshot, envelope: Envelope, *, now: float) -> bool:
    """Record the email about the order's status unless it has one; whether it is new.

    A second event for the same order and status (a copy, or a replica racing this one)
    inserts nothing: the key decides, in one statement.
    """
    values = {
        "order_id": order.order_id,
        "status": notice(order),
        "message_id": message_id(order.order_id, notice(order)),
        "event_id": envelope.id,
        "snapshot": order.model_dump_json(),
        "occurred_at": envelope.occurred_at.isoformat(),
        "recorded_at": now,
        "attempts": 0,
        "next_attempt_at": now,
    }
    return _insert_unless_recorded(conn, values)


def claim(conn: Connection, owner: str, *, now: float, until: float, limit: int) -> list[Notification]:
    """Claim the oldest due notifications for ``owner`` until ``until``, in sending order."""
    t = notifications
    free = or_(t.c.claimed_until.is_(None), t.c.claimed_until < now, t.c.claimed_by == owner)
    due = and_(t.c.sent_at.is_(None), t.c.failed_at.is_(None), t.c.next_attempt_at <= now, free)
    oldest = select(t.c.seq).where(due).order_by(t.c.seq).limit(limit)
    # ``due`` again in the UPDATE itself: on PostgreSQL a row another sender claimed
    # meanwhile is re-checked once its lock is free, and then left to that sender.
    statement = (
        update(t).where(t.c.seq.in_(oldest), due).values(claimed_by=owner, claimed_until=until).returning(*COLUMNS)
    )
    claimed = [Notification(**row._mapping) for row in conn.execute(statement)]
    return sorted(claimed, key=lambda notification: notification.seq)


def mark_sent(conn: Connection, seqs: Sequence[int], *, now: float) -> None:
    if seqs:
        _settle(conn, seqs, sent_at=now, last_error=None)


def mark_failed(
    conn: Connection, notification: Notification, error: str, *, retry_at: float | None, now: float
) -> None:
    """Count a failed attempt: try again at ``retry_at``, or never (``None``: given up)."""
    changes: dict[str, Any] = {"attempts": notification.attempts + 1, "last_error": error[:2000]}
    changes.update({"failed_at": now} if retry_at is None else {"next_attempt_at": retry_at})
    _settle(conn, [notification.seq], **changes)


def release(conn: Connection, seqs: Sequence[int]) -> None:
    """Give claimed notifications back untried, for whichever sender comes next."""
    if seqs:
        _settle(conn, seqs)


def unsent(conn: Connection) -> int:
    """How many notifications wait to be sent (given-up ones not counted)."""
    t = notifications
    query = select(func.count()).where(t.c.sent_at.is_(None), t.c.failed_at.is_(None))
    return int(conn.scalar(query) or 0)


def _settle(conn: Connection, seqs: Sequence[int], **changes: Any) -> None:
    t = notifications
    conn.execute(
        update(t)
        .where(t.c.seq.in_(list(seqs)), t.c.sent_at.is_(None))
        .values(claimed_by=None, claimed_until=None, **changes)
    )


def _insert_unless_recorded(conn: Connection, values: dict[str, Any]) -> bool:
    t = notifications
    dialect = conn.dialect.name
    if dialect == "postgresql":
        upsert = postgresql.insert(t).values(values).on_conflict_do_nothing(index_elements=KEY)
        return bool(conn.execute(upsert).rowcount)
    if dialect == "sqlite":
        upsert_ = sqlite.insert(t).values(values).on_conflict_do_nothing(index_elements=KEY)
        return bool(conn.execute(upsert_).rowcount)
    # Elsewhere: look first; a replica racing this one then fails on the key and its event is retried.
    exists = select(t.c.seq).where(t.c.order_id == values["order_id"], t.c.status == values["status"])
    if conn.scalar(exists) is not None:
        return False
    conn.execute(insert(t).values(values))
    return True
