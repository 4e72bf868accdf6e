"""Publishing outbox rows: the stream entry a row becomes, and rows a process publishes itself.

Every publisher (the relay, a consumer publishing its batch with its ``XACK``, the
gateway publishing a checkout right after its commit) turns rows into entries here,
so the entry's shape is one fact in one place.

A ``Claim`` gathers the rows of one or more units of work that their own process
publishes right after the commit, instead of leaving them to the relay. A unit of
work admits its rows to a claim only if no older row of the outbox is still unsent
(see ``Outbox.unit_of_work``); that is what keeps a stream in commit order while a
relay publishes older leftovers. docs/reliability.md gives the whole argument.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable
from typing import Any, Protocol

from redis.typing import EncodableT, FieldT

from workers.eventing.registry import EVENT_FIELD, TYPE_FIELD


@dataclasses.dataclass(frozen=True, slots=True)
class OutboxRow:
    """A committed outbox row, as a publisher needs it."""

    seq: int
    stream: str
    event_type: str
    payload: str

    def fields(self) -> dict[FieldT, EncodableT]:
        return entry_fields(self.event_type, self.payload)


def entry_fields(event_type: str, payload: str) -> dict[FieldT, EncodableT]:
    """The fields of the stream entry of an event: its type (for cheap filtering) and its JSON."""
    return {TYPE_FIELD: event_type, EVENT_FIELD: payload}


class Adds(Protocol):
    """A redis-py pipeline, synchronous or asyncio: both queue ``xadd`` the same way."""

    def xadd(self, name: Any, fields: Any) -> Any: ...


def add_entries(pipe: Adds, rows: Iterable[OutboxRow]) -> None:
    """Queue one ``XADD`` per row, in the rows' order, on ``pipe``."""
    for row in rows:
        pipe.xadd(row.stream, row.fields())


class Claim:
    """Rows committed by this process that it publishes itself, once their commits are done.

    Take one (``Outbox.claim()``) before a run of units of work, pass it to each ``Outbox.unit_of_work``,
    ``XADD`` its ``rows`` (``add_entries``), then hand it to ``Outbox.settle`` whatever
    happened: that marks the rows sent if they went out, and otherwise leaves them to
    the relay and wakes it.
    """

    def __init__(self) -> None:
        self.rows: list[OutboxRow] = []
        # Once a unit of work of this run left its rows to the relay, the later ones must
        # follow them there: publishing them now would put them ahead on their streams.
        self.refused = False
        self.left_over = 0  # rows of this run's commits left to the relay (for the consumer's summary)
        self.lock: threading.Lock | None = None  # the outbox's publishing lock, while this claim holds it
