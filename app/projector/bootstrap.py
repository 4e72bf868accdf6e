"""Wiring of the projector process (its composition root), run by the backbone's service runner."""

from __future__ import annotations

from app.migrations import MIGRATIONS
from app.projector.handlers import HANDLERS
from app.read_model.pruning import PRUNE_INTERVAL_S, READ_MODEL_KEEP_S, prune_read_model
from app.read_model.tables import METADATA
from workers.contracts import REGISTRY
from workers.eventing import Runtime, ServiceSpec, Tick, Wiring
from workers.eventing.after_commit import SETTLE_S

# The web process and the projector share the gateway's database, outbox and name:
# the consumer group is ``gateway`` and so is the database file.
SERVICE = "gateway"

# The streams the projector reads, derived from its handlers (for /healthz's lag check).
STREAMS = tuple(sorted({REGISTRY.stream_of(event_type) for event_type in HANDLERS}))


def wire(runtime: Runtime) -> Wiring:
    # The web process publishes its own rows right after each commit; the relay here
    # takes only rows older than SETTLE_S, which the web could not publish.
    keep_s = runtime.settings.number("READ_MODEL_KEEP_S", READ_MODEL_KEEP_S)
    prune = Tick(PRUNE_INTERVAL_S, lambda: prune_read_model(runtime.db, keep_s))
    return Wiring(handlers=HANDLERS, ticks=[prune], relay_settle_s=SETTLE_S)


SPEC = ServiceSpec(name=SERVICE, metadata=METADATA, registry=REGISTRY, wire=wire, migrations=MIGRATIONS)
