"""The warehouse's rules, free of I/O: what an order needs, whether all of it can be set aside, when it leaves.

A reservation is all or nothing: an order either gets every unit it asked for or none,
so a shopper is never half-served and the orders service has one answer to act on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple

from workers.contracts.orders import OUT_OF_STOCK

# "cancelled" is the tombstone of an order cancelled before the warehouse saw it placed;
# it is never published, it only stops a late ``order.placed`` from reserving anything.
Published = Literal["held", "refused", "released", "dispatched"]
Status = Published | Literal["cancelled"]


class Need(NamedTuple):
    """How many units of one product an order needs."""

    product_id: int
    quantity: int


class Shelf(NamedTuple):
    """What the warehouse has of one product right now."""

    sku: str
    available: int


@dataclass(frozen=True, slots=True)
class Plan:
    """The outcome of planning a reservation: what to take, or why nothing can be."""

    needs: tuple[Need, ...]
    refusal: str | None = None

    @property
    def feasible(self) -> bool:
        return self.refusal is None


def needs_of(lines: Iterable[tuple[int, int]]) -> tuple[Need, ...]:
    """``(product_id, quantity)`` lines summed per product, in product-id order.

    The order matters: every transaction takes the stock rows' locks in the same order,
    so two orders reserving the same products concurrently cannot deadlock.
    """
    totals: dict[int, int] = {}
    for product_id, quantity in lines:
        totals[product_id] = totals.get(product_id, 0) + quantity
    return tuple(Need(product_id, totals[product_id]) for product_id in sorted(totals))


def plan_reservation(needs: Iterable[Need], shelves: Mapping[int, Shelf]) -> Plan:
    """Whether every need fits on the shelves; if not, a reason naming every product that falls short."""
    wanted = tuple(needs)
    unknown = [need.product_id for need in wanted if need.product_id not in shelves]
    short = [
        shelves[need.product_id].sku
        for need in wanted
        if need.product_id in shelves and shelves[need.product_id].available < need.quantity
    ]
    reasons = []
    if short:
        reasons.append(out_of_stock(short))
    if unknown:
        reasons.append("unknown product: " + ", ".join(str(product_id) for product_id in unknown))
    return Plan(wanted, "; ".join(reasons) or None)


def out_of_stock(skus: Iterable[str]) -> str:
    """The refusal reason the orders service puts on the cancelled order."""
    return f"{OUT_OF_STOCK}: " + ", ".join(skus)
