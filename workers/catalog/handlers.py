"""What the catalog does: seeds the demo products, and creates and changes products as managers ask.

The catalog is the truth about products: the gateway checks a manager's request
against its read model, but two requests can race past that check, so the catalog
refuses (``product.refused``) a sku or product id that is taken and an unknown product.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import func, insert, or_, select, update

from workers.catalog.demo import DemoProduct
from workers.catalog.tables import products
from workers.contracts.catalog import ProductCreated, ProductRefused, ProductUpdated
from workers.contracts.storefront import ProductCreateRequested, ProductUpdateRequested
from workers.eventing import Outbox, Received, UnitOfWork

log = logging.getLogger(__name__)

# What a manager may change, and what each product row holds besides it.
CHANGEABLE = ("name", "description", "price_cents", "archived")


def seed_if_empty(outbox: Outbox, demo: Iterable[DemoProduct]) -> int:
    """Create the demo products (and announce each) when the catalog has none yet."""
    with outbox.unit_of_work() as uow:
        if uow.conn.scalar(select(func.count()).select_from(products)):
            return 0
        count = 0
        for product_id, item in enumerate(demo, start=1):
            _create(uow, product_id, item)
            count += 1
    log.info("catalog: seeded %d demo products", count)
    return count


def create_product(event: Received[ProductCreateRequested], uow: UnitOfWork) -> None:
    """A manager's new product: created and announced, or refused when its sku or id is taken."""
    request = event.data
    taken = uow.conn.execute(
        select(products.c.id, products.c.sku).where(
            or_(products.c.id == request.product_id, products.c.sku == request.sku)
        )
    ).first()
    if taken is not None:
        field = "sku" if taken.sku == request.sku else "product_id"
        value = request.sku if field == "sku" else request.product_id
        _refuse(uow, request.request_id, request.product_id, field, f"{field} {value} is already taken")
        return
    _create(uow, request.product_id, request, request_id=request.request_id)
    log.info("catalog: product %s (%s) created by %s", request.product_id, request.sku, request.manager)


def update_product(event: Received[ProductUpdateRequested], uow: UnitOfWork) -> None:
    """A manager's change: the whole product after it is announced; no change, no event."""
    request = event.data
    row = uow.conn.execute(select(products).where(products.c.id == request.product_id).with_for_update()).first()
    if row is None:
        _refuse(uow, request.request_id, request.product_id, "product_id", "no such product")
        return
    current: dict[str, Any] = dict(row._mapping)
    changes = {
        name: getattr(request, name)
        for name in CHANGEABLE
        if getattr(request, name) is not None and getattr(request, name) != current[name]
    }
    if not changes:
        log.info("catalog: request %s changes nothing of product %s", request.request_id, request.product_id)
        return
    version = current["version"] + 1
    uow.conn.execute(update(products).where(products.c.id == request.product_id).values(**changes, version=version))
    updated = {**current, **changes}
    log.info("catalog: product %s changed by %s: %s", request.product_id, request.manager, ", ".join(changes))
    uow.publish(
        ProductUpdated(
            product_id=updated["id"],
            sku=updated["sku"],
            name=updated["name"],
            description=updated["description"],
            price_cents=updated["price_cents"],
            archived=bool(updated["archived"]),
            request_id=request.request_id,
        ),
        aggregate_id=str(request.product_id),
        aggregate_version=version,
        correlation_id=request.request_id,
    )


class NewProduct(Protocol):
    """A product to create: a demo product or a manager's request."""

    @property
    def sku(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def price_cents(self) -> int: ...
    @property
    def opening_stock(self) -> int: ...


def _create(uow: UnitOfWork, product_id: int, new: NewProduct, request_id: str | None = None) -> None:
    """Insert the product (version 1, on sale) and announce it; a request's id correlates the event."""
    uow.conn.execute(
        insert(products).values(
            id=product_id,
            sku=new.sku,
            name=new.name,
            description=new.description,
            price_cents=new.price_cents,
            archived=False,
            version=1,
        )
    )
    created = ProductCreated(
        product_id=product_id,
        sku=new.sku,
        name=new.name,
        description=new.description,
        price_cents=new.price_cents,
        opening_stock=new.opening_stock,
        request_id=request_id,
    )
    uow.publish(created, aggregate_id=str(product_id), aggregate_version=1, correlation_id=request_id)


def _refuse(uow: UnitOfWork, request_id: str, product_id: int, field: str, reason: str) -> None:
    log.info("catalog: request %s refused: %s", request_id, reason)
    uow.publish(
        ProductRefused(request_id=request_id, product_id=product_id, field=field, reason=reason),
        aggregate_id=request_id,
        aggregate_version=1,
        correlation_id=request_id,
    )
