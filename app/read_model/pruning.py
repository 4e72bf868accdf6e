"""The read model keeps what pages show: finished orders leave it after ``READ_MODEL_KEEP_S``.

The orders service keeps every order (its own database is the record); the gateway's
copy is for the shopper's order page and the clerk's console. A ``delivered`` or
``cancelled`` order whose last change is older than the window is deleted from the read
model, with the checkout row that holds its token (its page answers 404 from then on),
and idempotency keys older than the window go too (a retry that late is a new order).

Deleting a row would let an old duplicate of one of its events, redelivered after the
inbox forgot it, insert it again from a stale snapshot. Every order starts as a checkout
here, whose row is written with the ``checkout.submitted`` event, before any order event
can exist; so the projector creates an order only while its checkout row is there, and
the pruning deletes both together. No clock and no tombstone are involved.

It runs as a tick of the gateway's projector (the consumer that writes the read model).
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Connection, delete, select

from app.read_model import tables
from workers.contracts.orders import FINISHED
from workers.eventing import Database

log = logging.getLogger(__name__)

READ_MODEL_KEEP_S = 30 * 86_400.0  # a month: the order page a shopper might still open from an email
PRUNE_INTERVAL_S = 60.0
BATCH_ROWS = 500
MAX_BATCHES = 20


def prune_read_model(db: Database, keep_s: float = READ_MODEL_KEEP_S) -> int:
    """Delete finished orders (and their checkouts) and idempotency keys older than ``keep_s``.

    Works in small transactions so checkouts and projection are never held up for long;
    returns how many orders left.
    """
    cutoff = time.time() - keep_s
    o, c, k = tables.orders, tables.checkouts, tables.idempotency_keys
    removed = 0
    for _ in range(MAX_BATCHES):
        with db.transaction() as conn:
            ids = list(
                conn.scalars(
                    select(o.c.order_id).where(o.c.status.in_(FINISHED), o.c.updated_at < cutoff).limit(BATCH_ROWS)
                )
            )
            if ids:
                conn.execute(delete(o).where(o.c.order_id.in_(ids)))
                conn.execute(delete(c).where(c.c.order_id.in_(ids)))
            keys = select(k.c.key).where(k.c.created_at < cutoff).limit(BATCH_ROWS).scalar_subquery()
            conn.execute(delete(k).where(k.c.key.in_(keys)))
        removed += len(ids)
        if len(ids) < BATCH_ROWS:
            break
    if removed:
        log.info("read model: %d finished orders older than %.0f s removed", removed, keep_s)
    return removed


def forgotten(conn: Connection, order_id: str) -> bool:
    """Whether an order unknown to the read model was pruned from it (its checkout row is gone too)."""
    c = tables.checkouts
    return conn.scalar(select(c.c.order_id).where(c.c.order_id == order_id)) is None
