"""Wiring of the payments service (its composition root)."""

from __future__ import annotations

from functools import partial

from workers.contracts import REGISTRY
from workers.contracts.orders import OrderCancelled, OrderPlaced
from workers.eventing import Handler, Runtime, ServiceSpec, Wiring
from workers.payments.handlers import charge_order, refund_order
from workers.payments.migrations import MIGRATIONS
from workers.payments.provider import PaymentProvider, SimulatedProvider
from workers.payments.tables import METADATA


def wire(runtime: Runtime, provider: PaymentProvider | None = None) -> Wiring:
    """Handlers bound to the payment provider (the simulated one unless another is given)."""
    provider = provider if provider is not None else SimulatedProvider()
    handlers: dict[str, Handler] = {
        OrderPlaced.TYPE: partial(charge_order, provider=provider),
        OrderCancelled.TYPE: partial(refund_order, provider=provider),
    }
    return Wiring(handlers=handlers)


SPEC = ServiceSpec(name="payments", metadata=METADATA, registry=REGISTRY, wire=wire, migrations=MIGRATIONS)
