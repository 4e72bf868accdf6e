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
        orders.OrderPlaced,
        orders.OrderConfirmed,
        orders.OrderCancelled,
        orders.OrderRefunded,
        orders.OrderDispatched,
        orders.OrderShipped,
        orders.OrderDelivered,
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

__all__ = ["REGISTRY"]
