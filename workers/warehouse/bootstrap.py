"""Wiring of the warehouse service (its composition root)."""

from __future__ import annotations

from workers.contracts import REGISTRY
from workers.eventing import Runtime, ServiceSpec, Wiring
from workers.warehouse.handlers import HANDLERS
from workers.warehouse.migrations import MIGRATIONS
from workers.warehouse.tables import METADATA


def wire(runtime: Runtime) -> Wiring:
    return Wiring(handlers=HANDLERS)


SPEC = ServiceSpec(name="warehouse", metadata=METADATA, registry=REGISTRY, wire=wire, migrations=MIGRATIONS)
