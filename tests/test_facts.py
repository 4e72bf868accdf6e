"""One fact, one place: statuses, event lists, tokens, streams and services come from the contracts.

These hold the places that still name them (the Procfile, templates, the email subjects)
to what the contracts say.
"""

from __future__ import annotations

import re
from pathlib import Path

from workers.contracts import REGISTRY, SERVICES
from workers.contracts.orders import (
    CANCELLABLE,
    EVENT_FOR_STATUS,
    FINISHED,
    ORDER_EVENTS,
    ORDER_PATH,
    ORDER_STATUSES,
    OrderRefunded,
)
from workers.contracts.payments import PAYMENT_TOKENS
from workers.email.messages import SUBJECTS
from workers.orders.domain import FORWARD
from workers.payments.provider import DECLINE_REASONS

ROOT = Path(__file__).resolve().parents[1]


def test_every_order_status_is_on_the_order_path_or_is_cancelled() -> None:
    assert set(ORDER_STATUSES) == {*ORDER_PATH, "cancelled"}
    assert set(ORDER_PATH) >= CANCELLABLE and set(ORDER_STATUSES) >= FINISHED


def test_every_order_status_is_announced_by_exactly_one_event_of_the_orders_stream() -> None:
    assert set(EVENT_FOR_STATUS) == set(ORDER_STATUSES)
    assert {m.TYPE for m in ORDER_EVENTS} == {t for t, m in REGISTRY.types.items() if m.STREAM == "orders"}
    assert OrderRefunded.ENTERS is None


def test_the_orders_service_moves_orders_only_between_contract_statuses_and_never_out_of_a_finished_one() -> None:
    assert set(FORWARD) == set(ORDER_STATUSES)
    assert all(FORWARD[status] == frozenset() for status in FINISHED)
    assert FORWARD["pending"] == {"confirmed", "cancelled"} and FORWARD["dispatched"] == {"shipped"}


def test_every_email_tells_a_contract_status_or_a_refund_and_has_both_its_templates() -> None:
    notices = set(SUBJECTS)
    assert notices == {*ORDER_STATUSES, "refunded"}
    templates = {p.stem for p in (ROOT / "templates" / "email").iterdir()} - {"layout"}
    assert templates == notices
    for notice in notices:
        assert (ROOT / "templates" / "email" / f"{notice}.txt").exists()
        assert (ROOT / "templates" / "email" / f"{notice}.html").exists()


def test_the_provider_knows_exactly_the_payment_tokens_of_the_contract() -> None:
    assert set(DECLINE_REASONS) == {t.token for t in PAYMENT_TOKENS}
    assert any(t.decline_reason is None for t in PAYMENT_TOKENS)


def test_the_services_are_the_gateway_and_the_workers_the_procfile_runs() -> None:
    procfile = (ROOT / "Procfile").read_text()
    workers = re.findall(r"-m workers\.(\w+)\s*$", procfile, flags=re.MULTILINE)
    folders = {p.parent.name for p in (ROOT / "workers").glob("*/__main__.py")}
    assert list(SERVICES) == ["gateway", *workers]
    assert set(workers) == folders


def test_the_registry_names_every_stream_once() -> None:
    assert REGISTRY.streams == ("storefront", "catalog", "orders", "payments", "warehouse", "stock", "shipping")
