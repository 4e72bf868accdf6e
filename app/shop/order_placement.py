"""Checkout: the order is recorded in the gateway's own database and outbox.

The shop keeps taking orders while Redis is down: nothing here talks to Redis; the
relay publishes ``checkout.submitted`` when it can.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from app.auth.tokens import matches, new_token, token_hash
from app.http.errors import ApiError
from app.read_model import queries, tables
from app.shop.checkout_validation import MAX_QUANTITY, parse_checkout
from workers.contracts.orders import CANCELLABLE
from workers.contracts.storefront import CancelRequested, CheckoutSubmitted
from workers.eventing import Outbox, tracing
from workers.eventing.ids import uuid7
from workers.eventing.logs import log_context

log = logging.getLogger(__name__)


def place_order(
    outbox: Outbox, body: Any, idempotency_key: str | None, scope: str, units_cap: int = MAX_QUANTITY
) -> dict[str, Any]:
    """Validate and record a checkout; the same key and body from the same client give the same answer.

    ``scope`` names the client (``app.http.client_id.scope``): the key is stored as a hash of
    scope and key, so one client's key never finds another client's order. ``units_cap``
    is the shop's most units of one product per order.
    """
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise ApiError(422, "Idempotency-Key must be 1 to 200 characters.", {"Idempotency-Key": "bad length"})
    key = None if idempotency_key is None else scoped_key(scope, idempotency_key)
    order_id = uuid7()
    # Every line logged during the checkout carries the order id, as the saga's events do.
    with (
        log_context(correlation_id=order_id, event_type=CheckoutSubmitted.TYPE),
        tracing.order_root(order_id, "checkout"),
    ):
        try:
            response = _place(outbox, body, key, units_cap, order_id)
        except IntegrityError:
            # A concurrent request with the same key won the race: answer as it did.
            response = _place(outbox, body, key, units_cap, order_id)
    replayed = response["order_id"] != order_id
    log.info(
        "checkout %s: order %s",
        "replayed (same Idempotency-Key)" if replayed else "accepted",
        response["order_id"],
        extra={"correlation_id": response["order_id"], "event_type": CheckoutSubmitted.TYPE},
    )
    return response


def scoped_key(scope: str, key: str) -> str:
    """The stored form of a client's key (fixed length, whatever the key's)."""
    return hashlib.sha256(f"{scope}\x00{key}".encode()).hexdigest()


def _place(outbox: Outbox, body: Any, key: str | None, units_cap: int, order_id: str) -> dict[str, Any]:
    with outbox.unit_of_work() as uow:
        checkout = parse_checkout(body, queries.catalog(uow.conn), units_cap)
        request_hash = hashlib.sha256(json.dumps(checkout.canonical(), sort_keys=True).encode()).hexdigest()
        if key is not None:
            earlier = uow.conn.execute(
                select(tables.idempotency_keys).where(tables.idempotency_keys.c.key == key)
            ).first()
            if earlier is not None:
                if earlier.request_hash != request_hash:
                    raise ApiError(409, "This Idempotency-Key was already used with a different request.")
                return dict(earlier.response)
        token, now = new_token(), datetime.now(UTC)
        response = {
            "order_id": order_id,
            "status": "pending",
            "token": token,
            "tracking_url": f"/orders/{order_id}?token={token}",
        }
        uow.conn.execute(
            insert(tables.checkouts).values(order_id=order_id, token_hash=token_hash(token), submitted_at=time.time())
        )
        if key is not None:
            uow.conn.execute(
                insert(tables.idempotency_keys).values(
                    key=key, request_hash=request_hash, order_id=order_id, response=response, created_at=time.time()
                )
            )
        submitted = CheckoutSubmitted(
            order_id=order_id,
            customer=checkout.customer,
            lines=checkout.lines,
            total_cents=checkout.total_cents,
            payment_method=checkout.payment_method,
            submitted_at=now,
        )
        # The order is visible (pending) at once, before the orders service has seen it.
        snapshot = {
            **submitted.model_dump(mode="json", exclude={"submitted_at"}),
            "status": "pending",
            "history": [{"status": "pending", "at": now.isoformat()}],
            "placed_at": now.isoformat(),
        }
        uow.conn.execute(
            insert(tables.orders).values(
                order_id=order_id,
                status="pending",
                version=0,
                email=checkout.customer.email,
                snapshot=snapshot,
                dispatch_requested=False,
                placed_at=now.timestamp(),
                updated_at=time.time(),
            )
        )
        uow.publish(submitted, aggregate_id=order_id, aggregate_version=1, correlation_id=order_id)
        return response


def order_for_owner(outbox: Outbox, order_id: str, token: str | None) -> dict[str, Any] | None:
    """The order, if ``token`` is its token; otherwise None (the caller answers 404)."""
    return order_for_owner_at(outbox, order_id, token)[0]


def order_for_owner_at(outbox: Outbox, order_id: str, token: str | None) -> tuple[dict[str, Any] | None, str]:
    """The order for its owner (as ``order_for_owner``) and the ``orders`` stream position it reflects.

    Both come from one snapshot: read apart, a change projected in between would be in
    neither the order shown nor the replay after the position, and a live page would miss it.
    """
    with outbox.db.snapshot() as conn:
        position = queries.position(conn, "orders")
        checkout = conn.execute(
            select(tables.checkouts.c.token_hash).where(tables.checkouts.c.order_id == order_id)
        ).scalar()
        if checkout is None or not matches(token, checkout):
            return None, position
        row = queries.order_row(conn, order_id)
        return (queries.order_view(row) if row is not None else None), position


def request_cancel(outbox: Outbox, order_id: str, token: str | None) -> None:
    """Ask the orders service to cancel the shopper's order; it has the last word.

    Answers 404 for a wrong token, 409 (with why) for an order that can no longer be
    cancelled as far as the read model knows. The flag set here makes a clerk's
    *Dispatch* through this gateway answer 409 from now on; a dispatch that got in first
    (or through a lagging read model) is settled by the orders service: whichever
    request it handles first wins, and the other changes nothing.
    """
    with outbox.unit_of_work() as uow:
        checkout = uow.conn.execute(
            select(tables.checkouts.c.token_hash).where(tables.checkouts.c.order_id == order_id)
        ).scalar()
        if checkout is None or not matches(token, checkout):
            raise ApiError(404, "No such order (or the token does not match).")
        row = queries.order_row(uow.conn, order_id, for_update=True)
        if row is None:
            raise ApiError(404, "No such order (or the token does not match).")
        if row.status == "cancelled" or row.cancel_requested:
            raise ApiError(409, "This order is already cancelled.")
        if row.status not in CANCELLABLE or row.dispatch_requested:
            raise ApiError(409, f"This order can no longer be cancelled: it is {_progress(row)}.")
        uow.conn.execute(
            update(tables.orders).where(tables.orders.c.order_id == order_id).values(cancel_requested=True)
        )
        uow.publish(
            CancelRequested(order_id=order_id, requested_at=datetime.now(UTC)),
            aggregate_id=order_id,
            aggregate_version=row.version,
            correlation_id=order_id,
        )


def _progress(row: Any) -> str:
    return "being dispatched" if row.status == "confirmed" else str(row.status)
