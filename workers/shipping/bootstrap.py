"""Wiring of the shipping service (its composition root)."""

from __future__ import annotations

from functools import partial

from workers.contracts import REGISTRY
from workers.eventing import Runtime, ServiceSpec, Tick, Wiring
from workers.shipping.carrier import Pace
from workers.shipping.handlers import HANDLERS, run_carrier
from workers.shipping.migrations import MIGRATIONS
from workers.shipping.tables import METADATA


def wire(runtime: Runtime) -> Wiring:
    settings = runtime.settings
    pace = Pace(
        ship_delay_s=settings.number("SHIP_DELAY_S", 5.0),
        deliver_delay_s=settings.number("DELIVER_DELAY_S", 10.0),
    )
    carrier = Tick(settings.number("SHIPPING_TICK_S", 0.5), partial(run_carrier, runtime.outbox, pace))
    return Wiring(handlers=HANDLERS, ticks=[carrier])


SPEC = ServiceSpec(name="shipping", metadata=METADATA, registry=REGISTRY, wire=wire, migrations=MIGRATIONS)
