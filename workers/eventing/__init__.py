"""The event backbone: envelope, registry, outbox, relay, inbox and consumer runner.

Every service and the gateway import this package; it imports none of them.
"""

from workers.eventing.consumer import Consumer, ConsumerSettings, Handler, Tick
from workers.eventing.database import Database
from workers.eventing.envelope import Envelope, EventData
from workers.eventing.outbox import Outbox, UnitOfWork
from workers.eventing.registry import MalformedEvent, Received, Registry, UnknownEventType
from workers.eventing.relay import Relay
from workers.eventing.service import Runtime, ServiceSpec, Wiring, run_service
from workers.eventing.settings import Settings

__all__ = [
    "Consumer",
    "ConsumerSettings",
    "Database",
    "Envelope",
    "EventData",
    "Handler",
    "MalformedEvent",
    "Outbox",
    "Received",
    "Registry",
    "Relay",
    "Runtime",
    "ServiceSpec",
    "Settings",
    "Tick",
    "UnitOfWork",
    "UnknownEventType",
    "Wiring",
    "run_service",
]
