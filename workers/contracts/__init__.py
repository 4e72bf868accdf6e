"""The published language: every event type, its stream and its data model.

Services agree on these and nothing else; each service imports the contracts and
the backbone, never another service. ``docs/events.md`` describes them for people.
"""

from workers.contracts import catalog, orders, payments, shipping, stock, storefront, warehouse
from workers.eventing.registry import Registry

REGISTRY = Registry(
    [
        storefront.CheckoutSubmitted,
        storefront.DispatchRequested,
        storefront.RestockRequested,
        storefront.CancelRequested,
        storefront.ProductCreateRequested,
        storefront.ProductUpdateRequested,
        catalog.ProductCreated,
        catalog.ProductUpdated,
        catalog.ProductRefused,
        *orders.ORDER_EVENTS,
        payments.PaymentConfirmed,
        payments.PaymentDeclined,
        payments.PaymentRefunded,
        warehouse.ReservationConfirmed,
        warehouse.ReservationRefused,
        warehouse.ReservationReleased,
        warehouse.DispatchCompleted,
        stock.StockChanged,
        shipping.ShipmentShipped,
        shipping.ShipmentDelivered,
    ]
)

# Every service by the name it publishes as (``source``) and keeps its own database under: the
# gateway (``app/``) and one worker per service folder of ``workers/`` (a Procfile line each).
SERVICES = ("gateway", "catalog", "orders", "payments", "warehouse", "shipping", "email")

__all__ = ["REGISTRY", "SERVICES"]
