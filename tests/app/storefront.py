"""The gateway under test: its real app (lifespan, publisher, live hub) behind a TestClient,
and the projector process's real wiring (consumer group ``gateway`` and the relay) in threads.

Upstream services are played by publishing their events onto the real streams, wrapped
and encoded exactly as their relays would; what the gateway publishes is read back from
the streams. Waiting is always polling with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx2
import redis
from starlette.applications import Starlette
from starlette.testclient import TestClient

from app.gateway import Gateway
from app.main import create_app
from app.projector.bootstrap import SPEC as PROJECTOR
from app.read_model.queries import Product
from app.read_model.stream_ids import id_key
from tests.app.browser import DEADLINE_S, form_token
from tests.support.asgi_client import OneCallTestClient
from tests.support.staff import CHEAP_PASSWORDS
from tests.support.waiting import wait_until
from workers.contracts import REGISTRY
from workers.contracts.catalog import ProductCreated
from workers.contracts.common import Customer, Line
from workers.contracts.orders import OrderSnapshot, StatusChange
from workers.contracts.stock import Cause, StockChanged, StockDelta
from workers.eventing import Consumer, Envelope, EventData, Received, Relay, Settings
from workers.eventing.service import consumer_of, open_runtime

T = TypeVar("T")
S = TypeVar("S", bound=OrderSnapshot)

CLERK_USER = "clerk-under-test"
CLERK_PASSWORD = "a-password-only-tests-know"
MANAGER_USER = "manager-under-test"
MANAGER_PASSWORD = "another-password-only-tests-know"
STAFF = {"clerk": (CLERK_USER, CLERK_PASSWORD), "manager": (MANAGER_USER, MANAGER_PASSWORD)}
CUSTOMER = {"email": "ada@example.com", "name": "Ada Lovelace", "address": "12 Analytical Row, London"}

# Product ids are unique within the test process, so tests sharing a gateway never collide.
_product_ids = itertools.count(1001)


def eventually(probe: Callable[[], T | None], what: str, timeout: float = DEADLINE_S) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    return wait_until(probe, timeout, f"waiting for {what}", interval=0.01)


@dataclass(frozen=True)
class Placed:
    """An order a shopper checked out, with what proves ownership of it."""

    order_id: str
    token: str
    lines: list[Line]


@dataclass(frozen=True)
class Published:
    envelope: Envelope
    entry_id: str


class Projector:
    """The projector process (``python -m app.projector``) as its runner wires it, in threads of the test.

    ``stop()`` and ``start()`` play a projector process that is down and started again.
    """

    def __init__(self, settings: Settings) -> None:
        self.runtime = open_runtime(PROJECTOR, settings)
        self.wiring = PROJECTOR.wire(self.runtime)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        runtime, wiring = self.runtime, self.wiring
        self._stop = threading.Event()
        # A short block, so that stop() returns quickly; otherwise the wiring as it runs.
        settings = dataclasses.replace(consumer_of(runtime, wiring), block_ms=100)
        consumer = Consumer(runtime.outbox, runtime.client, PROJECTOR.name, wiring.handlers, settings=settings)
        relay = Relay(runtime.outbox, runtime.client, owner=settings.consumer_name, settle_s=wiring.relay_settle_s)
        self._threads = [consumer.start(self._stop), relay.start(self._stop)]

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        # One still running would read on from the next test's streams (a process's tests share a Redis).
        assert not any(thread.is_alive() for thread in self._threads), "the projector's consumer or relay did not stop"
        self._threads = []

    def close(self) -> None:
        self.stop()
        self.runtime.client.close()
        self.runtime.db.dispose()


class Storefront:
    """A running gateway, its projector and a Redis client on its streams."""

    def __init__(self, app: Starlette, http: TestClient, client: redis.Redis, projector: Projector) -> None:
        self.app = app
        self.http = http
        self.redis = client
        self.projector = projector

    @property
    def gateway(self) -> Gateway:
        state: Gateway = self.app.state.gateway
        return state

    # -- playing the upstream services -------------------------------------------------

    def publish(
        self, data: EventData, *, aggregate_id: str, aggregate_version: int = 1, source: str = "test"
    ) -> Published:
        """Put an event on its stream as its producer's relay would."""
        envelope, fields = encoded(data, aggregate_id=aggregate_id, aggregate_version=aggregate_version, source=source)
        entry_id = self.redis.xadd(REGISTRY.stream_of(envelope.type), fields)
        return Published(envelope, _text(entry_id))

    def add_product(
        self,
        *,
        on_hand: int = 10,
        price_cents: int = 1250,
        announce_stock: bool = True,
        name: str | None = None,
        sku: str | None = None,
        description: str = "Pours slowly.",
    ) -> Product:
        """A new product in the catalog with ``on_hand`` units, once the read model shows it."""
        product = new_product(price_cents)
        product = replace(product, name=name or product.name, sku=sku or product.sku)
        created = ProductCreated(
            product_id=product.id,
            sku=product.sku,
            name=product.name,
            description=description,
            price_cents=price_cents,
            opening_stock=on_hand,
        )
        self.publish(created, aggregate_id=str(product.id), source="catalog")
        if announce_stock:
            self.change_stock(product, on_hand=on_hand, version=1, delta_on_hand=on_hand)
            eventually(lambda: self.product(product.id, on_hand=on_hand), f"product {product.id} in the read model")
        else:
            eventually(lambda: self.product(product.id), f"product {product.id} in the read model")
        return product

    def change_stock(self, product: Product, *, version: int, **figures: Any) -> Published:
        """A ``stock.changed`` as the warehouse publishes it (see ``stock_changed`` for the figures)."""
        data = stock_changed(product, **figures)
        return self.publish(data, aggregate_id=str(product.id), aggregate_version=version, source="warehouse")

    def announce_order(self, model: type[S], placed: Placed, *, version: int, **fields: Any) -> Published:
        """An order event as the orders service publishes it, for an order checked out here."""
        return self.publish(
            order_snapshot(model, placed, **fields), aggregate_id=placed.order_id, aggregate_version=version
        )

    # -- the shopper's side ------------------------------------------------------------

    def products(self) -> dict[int, dict[str, Any]]:
        body = self.http.get("/api/products").json()
        return {p["id"]: p for p in body["products"]}

    def product(self, product_id: int, **expected: Any) -> dict[str, Any] | None:
        """The product as GET /api/products shows it, if it is there with the ``expected`` figures."""
        found = self.products().get(product_id)
        if found is None or any(found.get(k) != v for k, v in expected.items()):
            return None
        return found

    def checkout(self, items: list[dict[str, Any]], key: str | None = None, **overrides: Any) -> httpx2.Response:
        body = {**CUSTOMER, "payment_method": "pm_card_visa", "items": items, **overrides}
        headers = {"Idempotency-Key": key} if key is not None else {}
        return self.http.post("/api/orders", json=body, headers=headers)

    def place_order(self, product: Product, quantity: int = 1) -> Placed:
        """Check out ``quantity`` units of ``product``; the 202 is asserted."""
        response = self.checkout([{"product_id": product.id, "quantity": quantity}])
        assert response.status_code == 202, response.text
        body = response.json()
        line = Line(
            product_id=product.id,
            sku=product.sku,
            name=product.name,
            unit_price_cents=product.price_cents,
            quantity=quantity,
            line_total_cents=product.price_cents * quantity,
        )
        return Placed(body["order_id"], body["token"], [line])

    def order(self, placed: Placed) -> dict[str, Any]:
        response = self.http.get(f"/api/orders/{placed.order_id}", headers={"X-Order-Token": placed.token})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def order_status(self, placed: Placed, status: str) -> dict[str, Any] | None:
        order = self.order(placed)
        return order if order["status"] == status else None

    # -- the clerk's side --------------------------------------------------------------

    def clerk_token(self, role: str = "clerk") -> str:
        """A bearer token of the test's clerk (or, with ``role="manager"``, its manager)."""
        username, password = STAFF[role]
        response = self.http.post("/api/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token

    def manager_token(self) -> str:
        return self.clerk_token("manager")

    def browser_login(self, role: str = "clerk") -> httpx2.Response:
        """Log in through the form, as a browser does (CSRF cookie and field included)."""
        username, password = STAFF[role]
        token = form_token(self.http.get("/login").text)
        form = {"csrf_token": token, "username": username, "password": password, "next": "/warehouse"}
        response = self.http.post("/login", data=form, follow_redirects=False)
        assert response.status_code == 303, response.text
        return response

    def page_token(self, path: str = "/cart") -> str:
        """The CSRF token of this browser, as a page renders it into its forms (by default a
        small page's: the storefront lists every product the module's tests added)."""
        return form_token(self.http.get(path).text)

    # -- what the gateway published and projected --------------------------------------

    def events(self, stream: str, event_type: str) -> list[Received[Any]]:
        """Every event of ``event_type`` on ``stream``, decoded and validated."""
        entries = cast(list[tuple[bytes, dict[bytes, bytes]]], self.redis.xrange(stream))
        decoded = [REGISTRY.decode(stream, _text(entry_id), fields) for entry_id, fields in entries]
        return [e for e in decoded if e.envelope.type == event_type]

    def published_for(self, event_type: str, order_id: str) -> list[Received[Any]]:
        return [e for e in self.events("storefront", event_type) if e.envelope.aggregate_id == order_id]

    def all_sent(self) -> bool:
        """True once everything the gateway committed so far is published (and marked sent)."""
        return self.gateway.outbox.backlog() == 0

    def position(self, stream: str) -> str:
        from app.read_model import queries

        with self.gateway.db.snapshot() as conn:
            return queries.position(conn, stream)

    def projected(self, published: Published) -> None:
        """Wait until the read model has handled ``published`` (and everything before it on its stream)."""
        stream = REGISTRY.stream_of(published.envelope.type)
        eventually(
            lambda: id_key(self.position(stream)) >= id_key(published.entry_id),
            f"the projector to reach {published.entry_id} on {stream}",
        )


def new_product(price_cents: int = 1250) -> Product:
    """A product no other test uses."""
    product_id = next(_product_ids)
    return Product(product_id, f"SKU-{product_id}", f"Kettle no. {product_id}", price_cents)


def stock_changed(
    product: Product,
    *,
    on_hand: int,
    reserved: int = 0,
    cause: Cause = "restock",
    delta_on_hand: int = 0,
    delta_available: int | None = None,
    order_id: str | None = None,
) -> StockChanged:
    """A product's stock figures after a change, as the warehouse announces them."""
    return StockChanged(
        product_id=product.id,
        sku=product.sku,
        on_hand=on_hand,
        reserved=reserved,
        available=on_hand - reserved,
        delta=StockDelta(
            on_hand=delta_on_hand, available=delta_on_hand if delta_available is None else delta_available
        ),
        cause=cause,
        order_id=order_id,
    )


def encoded(
    data: EventData, *, aggregate_id: str, aggregate_version: int = 1, source: str = "test"
) -> tuple[Envelope, dict[Any, Any]]:
    """An event's envelope and the fields of its stream entry, as its producer's relay writes them."""
    envelope = Envelope.wrap(
        data, source=source, aggregate_id=aggregate_id, aggregate_version=aggregate_version, correlation_id=aggregate_id
    )
    return envelope, dict(REGISTRY.encode(envelope))


def order_snapshot(model: type[S], placed: Placed, **fields: Any) -> S:
    """The whole order as the orders service would snapshot it, status from the event type."""
    named = model.TYPE.split(".")[1]
    status = fields.pop("status", None) or {"placed": "pending"}.get(named, named)
    now = datetime.now(UTC)
    steps = ["pending"] if status == "pending" else ["pending", status]
    values: dict[str, Any] = {
        "order_id": placed.order_id,
        "status": status,
        "customer": Customer(**CUSTOMER),
        "lines": placed.lines,
        "total_cents": sum(line.line_total_cents for line in placed.lines),
        "payment_method": "pm_card_visa",
        "history": [StatusChange(status=step, at=now) for step in steps],
        "placed_at": now,
        **fields,
    }
    return model.model_validate(values)


@contextlib.contextmanager
def running_storefront(
    redis_url: str,
    data_dir: Path,
    *,
    wait_for_hub: bool = True,
    env: Mapping[str, str] | None = None,
    base_url: str = "http://testserver",
) -> Iterator[Storefront]:
    """The gateway as ``python -m app`` runs it, its lifespan started and stopped around the block,
    with the projector (``python -m app.projector``) running beside it in threads.

    ``env`` overrides its environment (e.g. a low ``LOGIN_ATTEMPTS_PER_MINUTE``); a
    ``base_url`` of ``https://...`` serves it as behind TLS.
    """
    environ = {
        "DATA_DIR": str(data_dir),
        "REDIS_URL": redis_url,
        "SHOP_CLERK_USER": CLERK_USER,
        "SHOP_CLERK_PASSWORD": CLERK_PASSWORD,
        "SHOP_MANAGER_USER": MANAGER_USER,
        "SHOP_MANAGER_PASSWORD": MANAGER_PASSWORD,
        # Many tests share one gateway and log in from the same address; the throttle
        # has tests of its own.
        "LOGIN_ATTEMPTS_PER_MINUTE": "10000",
        **CHEAP_PASSWORDS,
        # TestClient's requests come for host "testserver", all from one address; the
        # abuse limits have tests of their own.
        "ALLOWED_HOSTS": "testserver",
        "CHECKOUT_RATE_LIMIT": "0",
        "CHECKOUT_RATE_LIMIT_TOTAL": "0",
        "WS_MAX_PER_ADDRESS": "0",
        **(env or {}),
    }
    settings = Settings.from_env(environ)
    app = create_app(settings)
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
    projector = Projector(settings)
    projector.start()
    try:
        with OneCallTestClient(app, base_url=base_url) as http:
            storefront = Storefront(app, http, client, projector)
            # The live readers start from the streams' ends; until they know where that
            # is, a change could be published "before" them.
            hub = storefront.gateway.hub
            if wait_for_hub:
                eventually(lambda: set(hub.streams) <= set(hub.last_ids), "the live hub to start reading")
            yield storefront
    finally:
        projector.close()
        client.close()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
