"""The sender: delivers recorded notifications after the commit, off the consumer's path.

It runs as a thread of the email process. A commit that recorded a notification wakes
it at once; it also polls, so nothing waits for a wake-up that never came (another
replica's commit, a retry coming due). It claims a batch of due notifications, sends
them one after the other over one mailer connection (kept open while there is work),
then marks them sent in one transaction.

Failures:
- the mailer is unavailable (the SMTP server is down, or dropped us twice): the batch
  stops, its unsent rows are given back untried, and the sender backs off;
- one message fails (a refused recipient, a template error): that notification is
  tried again later, with backoff, and given up after ``max_attempts`` with an error
  line; the others go on.

A crash after sending but before marking sends the message again later, with the same
``Message-ID`` (the receiving side can recognise the copy).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy.exc import SQLAlchemyError

from workers.contracts.orders import OrderSnapshot
from workers.email.mailers import Mailer, MailerUnavailable
from workers.email.messages import file_name, notice
from workers.email.notifications import Notification, claim, mark_failed, mark_sent, release
from workers.eventing import Database
from workers.eventing.backoff import Backoff, capped_delay
from workers.eventing.logs import log_context
from workers.eventing.tracing import in_saga

log = logging.getLogger(__name__)

STOP_CHECK_S = 0.2
Compose = Callable[..., EmailMessage]  # (order, *, sent_at) -> the email


@dataclass(frozen=True)
class SenderSettings:
    batch_size: int = 50
    poll_interval_s: float = 1.0
    # A claim outlives any batch: the batch stops once half of it is used up.
    claim_ttl_s: float = 30.0
    max_attempts: int = 8
    retry_initial_s: float = 1.0
    retry_max_s: float = 300.0
    # SMTP servers wait minutes for an idle client; a few seconds keep a steady trickle on one connection.
    idle_close_s: float = 10.0
    # After a wake-up, a moment for more commits to come in: under a burst the batches
    # hold tens of emails instead of one or two, with a claim and a mark for each batch.
    gather_s: float = 0.05


class Sender:
    """Sends what the email handler recorded; one instance per process, run in its own thread."""

    def __init__(
        self,
        db: Database,
        mailer: Mailer,
        compose: Compose,
        *,
        owner: str,
        settings: SenderSettings | None = None,
    ) -> None:
        self.db = db
        self.mailer = mailer
        self.compose = compose
        self.owner = owner
        self.settings = settings or SenderSettings()
        self._wake = threading.Event()
        self._last_used: float | None = None

    def wake(self) -> None:
        """Ask the sender to look for notifications now (called after a commit that recorded one)."""
        self._wake.set()

    def send_due(self) -> int:
        """Claim one batch of due notifications and try each; returns how many were claimed.

        Raises ``MailerUnavailable`` (after giving the untried ones back) when no message can go out now.
        """
        s = self.settings
        now = time.time()
        # Claims and marks need no fsync: lost to a power cut (not to a crash), a claim only
        # runs out and a mark sends the message again, with the same Message-ID.
        with self.db.transaction(durable=False) as conn:
            batch = claim(conn, self.owner, now=now, until=now + s.claim_ttl_s, limit=s.batch_size)
        if not batch:
            return 0
        stop_at = now + s.claim_ttl_s / 2
        sent: list[Notification] = []
        failed: list[tuple[Notification, Exception]] = []
        unavailable: MailerUnavailable | None = None
        for notification in batch:
            # The send's lines carry the order's id and its span joins the order's trace.
            with log_context(correlation_id=notification.order_id), in_saga(notification.order_id, "email send"):
                try:
                    where = self._send(notification)
                except MailerUnavailable as exc:
                    unavailable = exc
                    break
                except Exception as exc:  # noqa: BLE001 - one message's failure must not hold up the others
                    failed.append((notification, exc))
                else:
                    sent.append(notification)
                    log.info("email sent: %s %s", notification.message_id, where)
            if time.time() > stop_at:  # the rest is given back before the claim could run out
                break
        self._settle(batch, sent, failed)
        if unavailable is not None:
            raise unavailable
        return len(batch)

    def drain(self) -> int:
        """Send until nothing is due, or the mailer is unavailable; returns how many were claimed."""
        total = 0
        try:
            while claimed := self.send_due():
                total += claimed
        except MailerUnavailable as exc:
            log.debug("email: mailer unavailable: %s", exc)
        return total

    def run(self, stop: threading.Event) -> None:
        """Send until ``stop`` is set, surviving mailer and database outages; the batch in hand is finished."""
        backoff = Backoff(initial=0.2, maximum=10.0)
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    claimed = self.send_due()
                except (MailerUnavailable, SQLAlchemyError) as exc:
                    delay = backoff.next_delay()
                    log.warning("email: cannot send now (%s); retrying in %.1fs", exc, delay)
                    stop.wait(delay)
                    continue
                except Exception:  # a bug must not end the thread while the consumer goes on recording
                    delay = backoff.next_delay()
                    log.exception("email: sender failed; retrying in %.1fs", delay)
                    stop.wait(delay)
                    continue
                backoff.reset()
                if claimed < self.settings.batch_size:
                    self._close_if_idle()
                    if self._wait(stop, self._wait_s()):
                        stop.wait(self.settings.gather_s)
        finally:
            self.mailer.close()

    __call__ = run  # a Wiring's background task is called with the stop event

    def _send(self, notification: Notification) -> str:
        order = OrderSnapshot.model_validate_json(notification.snapshot)
        message = self.compose(order, sent_at=datetime.fromisoformat(notification.occurred_at))
        self._last_used = time.monotonic()
        return self.mailer.send(message, name=file_name(order.order_id, notice(order)))

    def _settle(
        self, batch: list[Notification], sent: list[Notification], failed: list[tuple[Notification, Exception]]
    ) -> None:
        now = time.time()
        tried = {n.seq for n in sent} | {n.seq for n, _ in failed}
        with self.db.transaction(durable=False) as conn:
            mark_sent(conn, [n.seq for n in sent], now=now)
            for notification, error in failed:
                retry_at = self._retry_at(notification, error, now)
                mark_failed(conn, notification, repr(error), retry_at=retry_at, now=now)
            release(conn, [n.seq for n in batch if n.seq not in tried])

    def _retry_at(self, notification: Notification, error: Exception, now: float) -> float | None:
        s = self.settings
        attempt = notification.attempts + 1
        if attempt >= s.max_attempts:
            log.error("email: %s not sent after %d attempts, given up: %r", notification.message_id, attempt, error)
            return None
        delay = capped_delay(attempt, s.retry_initial_s, s.retry_max_s)
        log.warning(
            "email: %s failed (attempt %d of %d), retrying in %.0fs: %r",
            notification.message_id,
            attempt,
            s.max_attempts,
            delay,
            error,
        )
        return now + delay

    def _wait(self, stop: threading.Event, seconds: float) -> bool:
        """Wait until woken (True), or ``stop`` is set or ``seconds`` have passed (False)."""
        # The stop event is shared and cannot wake us, so look at it often.
        deadline = time.monotonic() + seconds
        while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            if self._wake.wait(min(left, STOP_CHECK_S)):
                return True
        return False

    def _close_if_idle(self) -> None:
        if self._last_used is not None and time.monotonic() - self._last_used >= self.settings.idle_close_s:
            self.mailer.close()
            self._last_used = None

    def _wait_s(self) -> float:
        wait = self.settings.poll_interval_s
        if self._last_used is not None:  # wake up in time to let an idle connection go
            wait = min(wait, max(0.01, self.settings.idle_close_s - (time.monotonic() - self._last_used)))
        return wait
