"""The manager's ops console in a real browser: a dead letter arrives live, Discard and Retry act on it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LAPTOP, Visitors
from tests.browser.shop import log_in_to_ops, marked
from tests.support.stack import Stack
from workers.eventing.registry import EVENT_FIELD, TYPE_FIELD

pytestmark = [pytest.mark.browser, pytest.mark.stack]


def add_poison(stack: Stack) -> str:
    with stack.redis.client() as client:
        entry_id: bytes = client.xadd("payments", {TYPE_FIELD: b"payment.confirmed", EVENT_FIELD: b"{broken"})
    return entry_id.decode()


def test_a_dead_letter_appears_live_and_discard_removes_it_with_an_audit_line(stack: Stack, visitors: Visitors) -> None:
    page = log_in_to_ops(visitors.new(LAPTOP), stack.url)
    entry_id = add_poison(stack)

    letter = page.locator(".dead-letter", has_text=entry_id)
    expect(letter).to_be_visible()  # pushed over /live/ops: the page was not reloaded
    assert marked(page)
    expect(letter).to_contain_text("malformed")

    letter.get_by_role("button", name="Discard").click()

    expect(page.locator(".dead-letter", has_text=entry_id)).to_have_count(0)
    expect(page.locator("#ops-audit")).to_contain_text("manager discarded payment.confirmed")


def test_retry_puts_a_dead_letter_back_on_its_stream(stack: Stack, visitors: Visitors) -> None:
    page = log_in_to_ops(visitors.new(LAPTOP), stack.url)
    entry_id = add_poison(stack)
    letter = page.locator(".dead-letter", has_text=entry_id)
    expect(letter).to_be_visible()

    letter.get_by_role("button", name="Retry").click()

    expect(page.locator("#ops-audit")).to_contain_text("manager retried payment.confirmed")
    with stack.redis.client() as client:
        copies = [fields for _, fields in client.xrange("payments") if fields[EVENT_FIELD] == b"{broken"]
    assert len(copies) >= 2  # the original and the copy Retry put back


def test_the_console_shows_streams_groups_and_services(stack: Stack, visitors: Visitors) -> None:
    page = log_in_to_ops(visitors.new(LAPTOP), stack.url)

    expect(page.locator("#stream-orders")).to_be_visible()
    expect(page.locator("#group-orders-email")).to_contain_text("lag")
    expect(page.locator("#service-orders")).to_contain_text("ago")
