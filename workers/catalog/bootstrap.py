"""Wiring of the catalog service (its composition root)."""

from __future__ import annotations

from workers.catalog.demo import DEMO_PRODUCTS
from workers.catalog.handlers import seed_if_empty
from workers.catalog.tables import METADATA
from workers.contracts import REGISTRY
from workers.eventing import Runtime, ServiceSpec, Wiring


def wire(runtime: Runtime) -> Wiring:
    seed = runtime.settings.text("SEED_DEMO_CATALOG", "1") != "0"
    on_start = [lambda: seed_if_empty(runtime.outbox, DEMO_PRODUCTS)] if seed else []
    return Wiring(handlers={}, on_start=on_start)


SPEC = ServiceSpec(name="catalog", metadata=METADATA, registry=REGISTRY, wire=wire)
