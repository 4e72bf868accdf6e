"""Everything the checker looks at, gathered once the system is quiet.

The clients' journal, the services' databases, the gateway's answers and page, the
streams (every event ever published, copies included), the dead-letter stream, the
``.eml`` files and the processes' logs.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis

from chaos import truth
from chaos.faults import FaultInjector, Frozen
from chaos.load import Journal
from tests.support.stack import Stack
from tests.system.observe import entries, read_email, streams
from tests.system.shop_client import Json
from workers.eventing.dead_letters import DLQ_STREAM, DeadLetter, list_dead_letters
from workers.eventing.settings import Settings

_FIGURE = re.compile(r'id="(stock|available)-(\d+)"[^>]*>\s*(-?\d+)\s*<')
_WRITTEN = re.compile(r"email sent: (<[^>]+>) written to")
_CLAIMED = re.compile(r"claimed (\d+) idle entries")


@dataclass(frozen=True)
class Email:
    order_id: str
    status: str
    message_id: str


@dataclass
class Evidence:
    initial: dict[int, Json]  # /api/products before the load
    journal: Journal
    poison: set[tuple[str, str]]
    frozen: list[Frozen]
    fault_errors: list[str]
    shelves: dict[int, truth.Shelf]
    orders: dict[str, truth.Order]
    requests: truth.Requests
    read_model: dict[int, Json]  # /api/products after the quiet
    read_model_orders: dict[str, str]  # order id -> status, from GET /api/orders/{id}
    page: dict[str, dict[int, int]]  # "stock"/"available" -> product id -> figure on the page /
    dead_letters: list[DeadLetter]
    events: dict[str, list[dict[str, Any]]]  # stream -> envelopes, in stream order
    emails: list[Email]
    emails_recorded: set[tuple[str, str]]
    email_writes: Counter[str]  # Message-ID -> times written (log)
    claims: int  # entries taken over from other consumers (log)


def gather(stack: Stack, journal: Journal, injector: FaultInjector, initial: dict[int, Json]) -> Evidence:
    """Read everything the invariants are checked against (the system must be quiet)."""
    settings = Settings.from_env(stack.env)
    with httpx.Client(base_url=stack.url, timeout=30.0) as http, stack.redis.client() as client:
        read_model = {p["id"]: p for p in http.get("/api/products").raise_for_status().json()["products"]}
        page = _page_figures(http.get("/").raise_for_status().text)
        statuses = {}
        for accepted in journal.accepted:
            answer = http.get(f"/api/orders/{accepted.order_id}", headers={"X-Order-Token": accepted.token})
            statuses[accepted.order_id] = (
                answer.json()["status"] if answer.status_code == 200 else f"HTTP {answer.status_code}"
            )
        return Evidence(
            initial=initial,
            journal=journal,
            poison=set(injector.poison),
            frozen=list(injector.frozen),
            fault_errors=list(injector.errors),
            shelves=truth.shelves(settings),
            orders=truth.all_orders(settings),
            requests=truth.clerk_requests(settings),
            read_model=read_model,
            read_model_orders=statuses,
            page=page,
            dead_letters=list_dead_letters(client, count=100_000),
            events=_all_events(client),
            emails=_emails(stack.data_dir / "mail"),
            emails_recorded=truth.emails_recorded(settings),
            email_writes=_count_in_logs(stack.data_dir / "logs", "email.*.log", _WRITTEN),
            claims=sum(_count_in_logs(stack.data_dir / "logs", "*.log", _CLAIMED).values()),
        )


def _all_events(client: redis.Redis) -> dict[str, list[dict[str, Any]]]:
    """Every readable envelope of every stream but ``dlq`` (poison that is not JSON is left out)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for stream in streams(client):
        if stream != DLQ_STREAM:
            decoded = (_decode(fields) for _entry_id, fields in entries(client, stream))
            found[stream] = [event for event in decoded if event is not None]
    return found


def _decode(fields: dict[bytes, bytes]) -> dict[str, Any] | None:
    try:
        event = json.loads(fields[b"event"])
    except (KeyError, ValueError):
        return None
    return event if isinstance(event, dict) else None


def _page_figures(html: str) -> dict[str, dict[int, int]]:
    figures: dict[str, dict[int, int]] = {"stock": {}, "available": {}}
    for kind, product_id, value in _FIGURE.findall(html):
        figures[kind][int(product_id)] = int(value)
    return figures


def _emails(directory: Path) -> list[Email]:
    found = []
    for path in sorted(directory.glob("*.eml")):
        order_id, _, status = path.stem.rpartition("-")
        found.append(Email(order_id, status, str(read_email(path)["Message-ID"])))
    return found


def _count_in_logs(directory: Path, pattern: str, regex: re.Pattern[str]) -> Counter[str]:
    """How often each match of ``regex``'s first group occurs in the logs (numbers are added up)."""
    counts: Counter[str] = Counter()
    for path in directory.glob(pattern):
        for match in regex.finditer(path.read_text(errors="replace")):
            value = match.group(1)
            if value.isdigit():
                counts[path.stem] += int(value)
            else:
                counts[value] += 1
    return counts
