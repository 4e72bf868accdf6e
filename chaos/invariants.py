"""The invariants a chaos run must keep, checked against the evidence (no I/O here).

Each check answers pass or fail with a short detail naming what broke. The counts the
report shows (final states, lost, unexpected, duplicated effects) come from here too.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chaos.evidence import Evidence
from tests.system.observe import message_id
from workers.contracts.orders import CANCELLABLE, FULFILMENT, ORDER_PATH, OUT_OF_STOCK, PAYMENT_DECLINED
from workers.contracts.payments import DECLINING_TOKENS

FULFILLED = FULFILMENT
LEFT_THE_SHELF = tuple(status for status in FULFILMENT if status not in CANCELLABLE)
PATHS = ((ORDER_PATH[0], "cancelled"), ORDER_PATH)
SHOWN = 5  # examples named in a failed check's detail


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Outcome:
    """What became of the accepted checkouts."""

    final_states: Counter[str]
    lost: list[str]
    unexpected: list[str]
    duplicated_effects: Counter[str]


def outcome(ev: Evidence) -> Outcome:
    """Final state of every accepted checkout; the lost, the unexpected and the effects that happened twice."""
    states: Counter[str] = Counter()
    lost, unexpected = [], []
    for accepted in ev.journal.accepted:
        order = ev.orders.get(accepted.order_id)
        if order is None or order.status == "pending":
            lost.append(f"{accepted.order_id} ({'never created' if order is None else 'still pending'})")
            continue
        states[_state_label(order.status, order.cancel_reason)] += 1
        why = _misfit(order, accepted.payment_method, accepted.order_id in ev.requests.dispatches)
        shown = ev.read_model_orders.get(accepted.order_id)
        if why is None and shown != order.status:
            why = f"the gateway shows {shown}"
        if why is not None:
            unexpected.append(f"{accepted.order_id} {accepted.payment_method} {order.status}: {why}")
    accepted_ids = {a.order_id for a in ev.journal.accepted}
    for order_id in sorted(set(ev.orders) - accepted_ids):
        if not ev.journal.unanswered_checkouts:
            unexpected.append(f"{order_id}: an order no checkout was told about")
    duplicated = duplicated_effects(ev.events)
    if ev.journal.conflicting:
        duplicated["second order for a retried checkout"] += len(ev.journal.conflicting)
    return Outcome(states, lost, unexpected, duplicated)


def check_all(ev: Evidence, quiet: str | None = None) -> list[Check]:
    """Every invariant, in the report's order; ``quiet`` is why the system never went quiet, if it did not."""
    result = outcome(ev)
    checks = [
        _expect("every scheduled fault was injected", ev.fault_errors, ""),
        Check(
            "the system went quiet (groups caught up, nothing pending, outboxes empty, emails sent)",
            quiet is None,
            quiet or "",
        ),
    ]
    checks.append(
        _expect(
            "every accepted checkout reached a final state that fits its payment method and the stock",
            [*result.lost, *result.unexpected, *ev.journal.rejected_checkouts, *ev.journal.unanswered_checkouts],
            f"{len(ev.journal.accepted)} orders: lost {len(result.lost)}, unexpected {len(result.unexpected)}, "
            f"rejected {len(ev.journal.rejected_checkouts)}, never answered {len(ev.journal.unanswered_checkouts)}",
        )
    )
    checks.append(_ledger(ev))
    checks.append(_reserved(ev))
    checks.append(_never_negative(ev))
    checks.append(_emails(ev))
    checks.append(_read_model(ev))
    checks.append(_page(ev))
    checks.append(_dead_letters(ev))
    checks.append(_taken_over(ev))
    server_errors = ev.journal.server_errors()
    checks.append(
        _expect(
            "no client saw a 5xx",
            [f"{a.action} {a.status} at {a.at:.1f}s: {a.error}" for a in server_errors],
            f"{len(ev.journal.answers)} answers",
        )
    )
    checks.append(
        _expect(
            "no effect happened twice",
            [f"{kind}: {n}" for kind, n in sorted(result.duplicated_effects.items())],
            "charges, refunds, reservations, releases, dispatches, stock changes, statuses, shipments: once each",
        )
    )
    return checks


def duplicated_effects(streams: dict[str, list[dict[str, Any]]]) -> Counter[str]:
    """Effects published more than once with different event ids (copies of one event are not effects)."""
    ids: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for stream_events in streams.values():
        for event in stream_events:
            key = _effect(event) if event.get("source") != "chaos" else None
            if key is not None:
                ids[key].add(str(event.get("id")))
    found: Counter[str] = Counter()
    for key, event_ids in ids.items():
        if len(event_ids) > 1:
            found[key[0]] += len(event_ids) - 1
    return found


def _effect(event: dict[str, Any]) -> tuple[str, ...] | None:
    """What an event did, as a key that must be unique: e.g. ("charge", order id)."""
    kind, data = str(event.get("type")), event.get("data") or {}
    order_id = str(data.get("order_id"))
    keys: dict[str, tuple[str, ...]] = {
        "checkout.submitted": ("checkout", order_id),
        "payment.confirmed": ("charge", order_id),
        "payment.declined": ("charge", order_id),
        "payment.refunded": ("refund", order_id),
        "reservation.confirmed": ("reservation", order_id),
        "reservation.refused": ("reservation", order_id),
        "reservation.released": ("release", order_id),
        "dispatch.completed": ("dispatch", order_id),
        "shipment.shipped": ("shipment shipped", order_id),
        "shipment.delivered": ("shipment delivered", order_id),
        "product.created": ("product", str(data.get("product_id"))),
    }
    if kind.startswith("order."):
        return (f"status {kind}", order_id)
    if kind == "stock.changed":
        if data.get("order_id") is None:
            return None  # restocks: the ledger counts them against the requests
        return (f"stock {data.get('cause')}", order_id, str(data.get("product_id")))
    return keys.get(kind)


def _misfit(order: Any, method: str, dispatch_asked: bool) -> str | None:
    """Why a settled order's state does not fit its payment method, its dispatch and its history; None if it fits."""
    if tuple(order.history) not in {path[: len(order.history)] for path in PATHS} or not order.history:
        return f"history {list(order.history)}"
    if order.history[-1] != order.status:
        return f"history ends in {order.history[-1]}"
    if method in DECLINING_TOKENS:
        return None if order.status == "cancelled" else "a declining card must end cancelled"
    if order.status == "cancelled":
        return None if (order.cancel_reason or "").startswith(OUT_OF_STOCK) else f"cancelled: {order.cancel_reason}"
    if dispatch_asked and order.status not in LEFT_THE_SHELF:
        return "a clerk dispatched it, but it never left"
    if not dispatch_asked and order.status in LEFT_THE_SHELF:
        return "it left the shelf, but no clerk dispatched it"
    return None


def _ledger(ev: Evidence) -> Check:
    restocked: Counter[int] = Counter()
    for product_id, quantity in ev.requests.restocks.values():
        restocked[product_id] += quantity
    dispatched = _units(ev, LEFT_THE_SHELF)
    wrong = []
    for product_id, shelf in sorted(ev.shelves.items()):
        initial = ev.initial.get(product_id, {}).get("on_hand", 0)
        if initial + restocked[product_id] != shelf.on_hand + dispatched[product_id]:
            wrong.append(
                f"product {product_id}: {initial} + {restocked[product_id]} restocked != "
                f"{shelf.on_hand} on hand + {dispatched[product_id]} dispatched"
            )
    missing = sorted(set(ev.journal.restocks) - set(ev.requests.restocks))
    wrong += [f"restock {request_id} answered 202 but not recorded" for request_id in missing]
    return _expect(
        "per product: initial + restocked = on hand + dispatched",
        wrong,
        f"{len(ev.shelves)} products, {len(ev.requests.restocks)} restocks "
        f"({ev.journal.uncertain_restocks} unanswered), {sum(dispatched.values())} units dispatched",
    )


def _reserved(ev: Evidence) -> Check:
    held = _units(ev, ("confirmed",))
    wrong = [
        f"product {product_id}: reserved {shelf.reserved}, confirmed-not-dispatched orders hold {held[product_id]}"
        for product_id, shelf in sorted(ev.shelves.items())
        if shelf.reserved != held[product_id]
    ]
    return _expect(
        "per product: reserved = units of confirmed orders not yet dispatched",
        wrong,
        f"{sum(held.values())} units held",
    )


def _never_negative(ev: Evidence) -> Check:
    wrong = list(ev.journal.impossible_figures)
    wrong += [f"warehouse product {pid}: {s}" for pid, s in ev.shelves.items() if not 0 <= s.reserved <= s.on_hand]
    changes = [e for e in ev.events.get("stock", []) if e.get("source") == "warehouse"]
    for event in changes:
        data = event["data"]
        if not (0 <= data["reserved"] <= data["on_hand"] and data["available"] >= 0):
            wrong.append(f"stock.changed {event['id']}: on_hand {data['on_hand']}, reserved {data['reserved']}")
    samples = sum(1 for a in ev.journal.answers if a.action == "products" and a.status == 200)
    return _expect(
        "nothing ever negative (warehouse, every stock.changed, every sampled /api/products)",
        wrong,
        f"{len(changes)} stock changes, {samples} samples",
    )


def _emails(ev: Evidence) -> Check:
    wrong = []
    on_disk: dict[str, list[str]] = defaultdict(list)
    for email in ev.emails:
        on_disk[email.order_id].append(email.status)
        if email.message_id != message_id(email.order_id, email.status):
            wrong.append(f"{email.order_id}-{email.status}.eml has Message-ID {email.message_id}")
    accepted = {a.order_id for a in ev.journal.accepted}
    for order_id in sorted(accepted):
        order = ev.orders.get(order_id)
        reached = list(order.history) if order is not None else []
        # A refund is news of its own: one email beside the cancellation's.
        due = [*reached, "refunded"] if order is not None and order.refunded else reached
        if sorted(on_disk.get(order_id, [])) != sorted(due):
            wrong.append(f"order {order_id}: emails {sorted(on_disk.get(order_id, []))}, statuses {reached}")
    wrong += [f"email for unknown order {order_id}" for order_id in sorted(set(on_disk) - accepted)]
    files = {(e.order_id, e.status) for e in ev.emails}
    if files != ev.emails_recorded:
        wrong.append(
            f"{len(files ^ ev.emails_recorded)} emails differ between the mail directory and the email service"
        )
    return _expect("exactly one email per order and status reached", wrong, f"{len(ev.emails)} emails")


def _read_model(ev: Evidence) -> Check:
    def figures(product_id: int) -> tuple[Any, Any]:
        product = ev.read_model.get(product_id, {})
        return product.get("on_hand"), product.get("available")

    wrong = [
        f"product {pid}: gateway {figures(pid)}, warehouse {(s.on_hand, s.available)}"
        for pid, s in sorted(ev.shelves.items())
        if figures(pid) != (s.on_hand, s.available)
    ]
    wrong += [f"product {pid} unknown to the warehouse" for pid in sorted(set(ev.read_model) - set(ev.shelves))]
    return _expect(
        "the gateway's read model (/api/products) equals the warehouse's stock", wrong, f"{len(ev.shelves)} products"
    )


def _page(ev: Evidence) -> Check:
    wrong = [
        f"product {pid}: page {ev.page['stock'].get(pid)}/{ev.page['available'].get(pid)}, "
        f"warehouse {s.on_hand}/{s.available}"
        for pid, s in sorted(ev.shelves.items())
        if (ev.page["stock"].get(pid), ev.page["available"].get(pid)) != (s.on_hand, s.available)
    ]
    return _expect("the storefront page / shows the same figures (#stock-<id>, #available-<id>)", wrong, "")


def _dead_letters(ev: Evidence) -> Check:
    letters = {(letter.stream, letter.entry_id) for letter in ev.dead_letters}
    wrong = [
        f"{letter.stream}/{letter.entry_id} ({letter.group}, {letter.event_type}): {letter.error[:120]}"
        for letter in ev.dead_letters
        if (letter.stream, letter.entry_id) not in ev.poison
    ]
    wrong += [f"poison {stream}/{entry_id} never dead-lettered" for stream, entry_id in sorted(ev.poison - letters)]
    return _expect(
        "the dead-letter stream holds the injected poison and nothing else",
        wrong,
        f"{len(ev.dead_letters)} dead letters for {len(ev.poison)} poison entries",
    )


def _taken_over(ev: Evidence) -> Check:
    wrong = [f"{f.target}: {f.left} of {f.held} entries still with the frozen consumer" for f in ev.frozen if f.left]
    held = sum(f.held for f in ev.frozen)
    return _expect(
        "a frozen consumer's unacknowledged entries were taken over by another replica (XAUTOCLAIM)",
        wrong,
        f"{held} entries held by the frozen replica" if held else "not exercised: the frozen replica held no entries",
    )


def _units(ev: Evidence, statuses: Iterable[str]) -> Counter[int]:
    """Units per product of the orders in ``statuses``."""
    wanted = set(statuses)
    units: Counter[int] = Counter()
    for order in ev.orders.values():
        if order.status in wanted:
            for product_id, quantity in order.lines:
                units[product_id] += quantity
    return units


def _state_label(status: str, reason: str | None) -> str:
    if status != "cancelled":
        return status
    for prefix in (OUT_OF_STOCK, PAYMENT_DECLINED):
        if (reason or "").startswith(prefix):
            return f"cancelled ({prefix})"
    return f"cancelled ({reason})"


def _expect(name: str, problems: list[str], summary: str) -> Check:
    if not problems:
        return Check(name, True, summary)
    shown = "; ".join(problems[:SHOWN]) + (f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else "")
    return Check(name, False, f"{len(problems)} wrong: {shown}")
