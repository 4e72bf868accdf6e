"""What the email service does: record one email per order and status, to be sent after the commit."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from workers.contracts.orders import OrderSnapshot
from workers.email.messages import notice
from workers.email.notifications import record
from workers.eventing import Received, UnitOfWork

log = logging.getLogger(__name__)


def notify(event: Received[OrderSnapshot], uow: UnitOfWork, *, recorded: Callable[[], None]) -> None:
    """Record the email about the order's new status, unless one was recorded before.

    The row is written in the consumer's transaction, with its inbox row, and nothing
    leaves the process here: the sender delivers it once the transaction has committed
    (``recorded`` wakes it). A repeated event, or a replica recording the same status
    at the same moment, records nothing new.
    """
    order = event.data
    if record(uow.conn, order, event.envelope, now=time.time()):
        log.debug("email: %s of order %s recorded", notice(order), order.order_id)
        if recorded not in uow.committed:
            uow.after_commit(recorded)
    else:
        log.debug("email: %s of order %s was recorded before; nothing new", notice(order), order.order_id)
