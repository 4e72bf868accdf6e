"""Wiring of the projector process (its composition root), run by the backbone's service runner."""

from __future__ import annotations

from app.projector.handlers import HANDLERS
from app.tables import METADATA
from workers.contracts import REGISTRY
from workers.eventing import Runtime, ServiceSpec, Wiring
from workers.eventing.after_commit import SETTLE_S
from workers.eventing.service import consumer_settings

# The web process and the projector share the gateway's database, outbox and name:
# the consumer group is ``gateway`` and so is the database file.
SERVICE = "gateway"

# The streams the projector reads, derived from its handlers (for /healthz's lag check).
STREAMS = tuple(sorted({REGISTRY.stream_of(event_type) for event_type in HANDLERS}))


def wire(runtime: Runtime) -> Wiring:
    # The web process publishes its own rows right after each commit; the relay here
    # takes only rows older than SETTLE_S, which the web could not publish.
    return Wiring(handlers=HANDLERS, consumer=consumer_settings(runtime.settings), relay_settle_s=SETTLE_S)


SPEC = ServiceSpec(name=SERVICE, metadata=METADATA, registry=REGISTRY, wire=wire)
