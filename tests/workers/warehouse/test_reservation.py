"""The warehouse's rules on their own: no database, no Redis."""

from __future__ import annotations

from workers.warehouse.reservation import Need, Shelf, needs_of, plan_reservation


def test_needs_are_summed_per_product_in_product_order() -> None:
    assert needs_of([(7, 1), (3, 2), (7, 4)]) == (Need(3, 2), Need(7, 5))


def test_an_order_that_fits_on_the_shelves_is_feasible() -> None:
    plan = plan_reservation([Need(1, 2), Need(2, 1)], {1: Shelf("MUG", 2), 2: Shelf("KETTLE", 5)})
    assert plan.feasible
    assert plan.refusal is None


def test_one_short_product_makes_the_whole_order_infeasible() -> None:
    plan = plan_reservation([Need(1, 1), Need(2, 3)], {1: Shelf("MUG", 10), 2: Shelf("GRINDER-HAND-C2", 2)})
    assert not plan.feasible
    assert plan.refusal == "out of stock: GRINDER-HAND-C2"


def test_the_refusal_names_every_short_and_every_unknown_product() -> None:
    plan = plan_reservation([Need(1, 1), Need(2, 1), Need(9, 1)], {1: Shelf("MUG", 0), 2: Shelf("KETTLE", 0)})
    assert plan.refusal == "out of stock: MUG, KETTLE; unknown product: 9"
