"""What the catalog does. It reacts to no other service; it seeds and announces products."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import func, insert, select

from workers.catalog.demo import DemoProduct
from workers.catalog.tables import products
from workers.contracts.catalog import ProductCreated
from workers.eventing import Outbox

log = logging.getLogger(__name__)


def seed_if_empty(outbox: Outbox, demo: Iterable[DemoProduct]) -> int:
    """Create the demo products (and announce each) when the catalog has none yet."""
    with outbox.unit_of_work() as uow:
        if uow.conn.scalar(select(func.count()).select_from(products)):
            return 0
        count = 0
        for product_id, item in enumerate(demo, start=1):
            uow.conn.execute(
                insert(products).values(
                    id=product_id,
                    sku=item.sku,
                    name=item.name,
                    description=item.description,
                    price_cents=item.price_cents,
                    version=1,
                )
            )
            uow.publish(
                ProductCreated(
                    product_id=product_id,
                    sku=item.sku,
                    name=item.name,
                    description=item.description,
                    price_cents=item.price_cents,
                    opening_stock=item.opening_stock,
                ),
                aggregate_id=str(product_id),
                aggregate_version=1,
            )
            count += 1
    log.info("catalog: seeded %d demo products", count)
    return count
