"""Wiring of the catalog service (its composition root)."""

from __future__ import annotations

from workers.catalog.demo import DEMO_PRODUCTS
from workers.catalog.handlers import create_product, seed_if_empty, update_product
from workers.catalog.migrations import MIGRATIONS
from workers.catalog.tables import METADATA
from workers.contracts import REGISTRY
from workers.contracts.storefront import ProductCreateRequested, ProductUpdateRequested
from workers.eventing import Handler, Runtime, ServiceSpec, Wiring


def wire(runtime: Runtime) -> Wiring:
    seed = runtime.settings.text("SEED_DEMO_CATALOG", "1") != "0"
    on_start = [lambda: seed_if_empty(runtime.outbox, DEMO_PRODUCTS)] if seed else []
    handlers: dict[str, Handler] = {
        ProductCreateRequested.TYPE: create_product,
        ProductUpdateRequested.TYPE: update_product,
    }
    return Wiring(handlers=handlers, on_start=on_start)


SPEC = ServiceSpec(name="catalog", metadata=METADATA, registry=REGISTRY, wire=wire, migrations=MIGRATIONS)
