"""The load: shoppers checking out, a clerk restocking and dispatching, and watchers sampling the pages.

Everything goes through the HTTP contract, and every answer is written down in a
``Journal`` (a 5xx anywhere fails the run). A request that got no answer at all (the
web process was being killed) is retried where that is safe: a checkout with the same
``Idempotency-Key`` and body, a dispatch as is. A restock without an answer is not
retried (it may have been recorded); the checker reads the gateway's outbox instead.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos.plan import ChaosConfig
from tests.system.shop_client import DEV_CLERK, Json, order_body
from workers.contracts.payments import APPROVING_TOKEN, DECLINING_TOKENS

log = logging.getLogger(__name__)

SCARCE = 8  # a product with at most this many units at the start is "nearly sold out"
RETRY_FOR_S = 60.0


@dataclass(frozen=True)
class Answer:
    """One HTTP exchange: what was asked, and the status (None: no answer, the web process was down)."""

    at: float
    action: str
    status: int | None
    error: str = ""


@dataclass(frozen=True)
class Accepted:
    """A checkout the gateway answered with 202."""

    key: str
    order_id: str
    token: str
    payment_method: str
    items: tuple[tuple[int, int], ...]
    attempts: int


@dataclass
class Journal:
    """What the clients saw, written by many threads."""

    answers: list[Answer] = field(default_factory=list)
    accepted: list[Accepted] = field(default_factory=list)
    unanswered_checkouts: list[str] = field(default_factory=list)  # keys never answered, even after retries
    rejected_checkouts: list[str] = field(default_factory=list)  # valid checkouts answered other than 202
    conflicting: list[str] = field(default_factory=list)  # keys answered with two different order ids
    restocks: dict[str, tuple[int, int]] = field(default_factory=dict)  # 202: request id -> (product, quantity)
    uncertain_restocks: int = 0
    dispatched: set[str] = field(default_factory=set)  # orders whose dispatch was answered 202
    impossible_figures: list[str] = field(default_factory=list)  # sampled products with negative figures
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _started: float = field(default_factory=time.monotonic, repr=False)

    def answer(self, action: str, status: int | None, error: str = "") -> None:
        with self._lock:
            self.answers.append(Answer(time.monotonic() - self._started, action, status, error))

    def add(self, name: str, item: object) -> None:
        """Append ``item`` to the list ``name`` (or add it to the set ``name``)."""
        with self._lock:
            found = getattr(self, name)
            if isinstance(found, set):
                found.add(item)
            else:
                found.append(item)

    def restocked(self, request_id: str, product_id: int, quantity: int) -> None:
        with self._lock:
            self.restocks[request_id] = (product_id, quantity)

    def restock_unanswered(self) -> None:
        with self._lock:
            self.uncertain_restocks += 1

    def server_errors(self) -> list[Answer]:
        return [a for a in self.answers if a.status is not None and a.status >= 500]


class LoadDriver:
    """Runs the shoppers, the clerk and the watchers until every checkout has been answered."""

    def __init__(self, base_url: str, config: ChaosConfig, products: Mapping[int, Json], journal: Journal) -> None:
        self.base_url = base_url
        self.config = config
        self.journal = journal
        self.product_ids = sorted(products)
        self.scarce = [pid for pid in self.product_ids if products[pid]["available"] <= SCARCE]
        self.plentiful = [pid for pid in self.product_ids if pid not in self.scarce] or self.product_ids
        self.http = httpx.Client(
            base_url=base_url, timeout=10.0, limits=httpx.Limits(max_connections=config.shoppers + 4)
        )
        # The storefront page is fetched as a browser of its own: the client cookie it sets
        # would otherwise move the shoppers' idempotency keys from their address to it.
        self.browser = httpx.Client(base_url=base_url, timeout=10.0)
        self._done = threading.Event()

    def run_beside(self, faults: Callable[[], object]) -> None:
        """Run the load while ``faults`` runs in a thread of its own; the clerk and watchers go on until it is over."""
        faults_over = threading.Event()

        def inject() -> None:
            try:
                faults()
            finally:
                faults_over.set()

        thread = threading.Thread(target=inject, name="faults")
        thread.start()
        try:
            self.run(faults_over)
        finally:
            thread.join()

    def run(self, faults_over: threading.Event | None = None) -> None:
        """Send every checkout on schedule (``rate`` a second), with the clerk and watchers alongside.

        The clerk and the watchers go on until ``faults_over`` is set as well.
        """
        rng = random.Random(self.config.seed * 7919)
        carts = [self._cart(rng) for _ in range(self.config.orders)]
        side = [
            threading.Thread(target=self._clerk, args=(random.Random(self.config.seed * 104729),), name="clerk"),
            threading.Thread(target=self._watch, name="watcher"),
        ]
        for thread in side:
            thread.start()
        start = time.monotonic()
        try:
            with ThreadPoolExecutor(self.config.shoppers, thread_name_prefix="shopper") as pool:
                futures = []
                for index, (items, method) in enumerate(carts):
                    _sleep_until(start + index / self.config.rate)
                    futures.append(pool.submit(self._checkout, index, items, method))
            for future in futures:
                future.result()  # a shopper's own bug surfaces here
            if faults_over is not None:
                faults_over.wait()
        finally:
            self._done.set()
            for thread in side:
                thread.join()
            self.http.close()
            self.browser.close()

    def _cart(self, rng: random.Random) -> tuple[tuple[tuple[int, int], ...], str]:
        """A few lines, a quarter of carts with a nearly sold-out product; 30 % declining cards."""
        lines: dict[int, int] = {}
        if self.scarce and rng.random() < 0.25:
            lines[rng.choice(self.scarce)] = rng.randint(1, 2)
        for _ in range(rng.choice((1, 1, 2))):
            product = rng.choice(self.plentiful)
            lines[product] = lines.get(product, 0) + rng.randint(1, 2)
        roll = rng.random()
        method = APPROVING_TOKEN if roll < 0.7 else DECLINING_TOKENS[0] if roll < 0.85 else DECLINING_TOKENS[1]
        return tuple(sorted(lines.items())), method

    def _checkout(self, index: int, items: tuple[tuple[int, int], ...], method: str) -> None:
        key = f"chaos-{self.config.seed}-{index}"
        body = order_body(items, method)
        answers: list[Json] = []
        deadline, attempts = time.monotonic() + RETRY_FOR_S, 0
        while time.monotonic() < deadline:
            attempts += 1
            response = self._call("checkout", "POST", "/api/orders", json=body, headers={"Idempotency-Key": key})
            if response is None:
                time.sleep(0.3)
                continue
            if response.status_code != 202:
                rejected = f"{key}: {response.status_code} {response.text[:200]}"
                self.journal.add("rejected_checkouts", rejected)
                return
            answers.append(response.json())
            if attempts > 1 or index % 20 == 0:
                # A retried (and, now and then, a repeated) checkout must come back as the same order.
                again = self._call("checkout", "POST", "/api/orders", json=body, headers={"Idempotency-Key": key})
                if again is not None and again.status_code == 202:
                    answers.append(again.json())
            break
        else:
            self.journal.add("unanswered_checkouts", key)
            return
        first = answers[0]
        self.journal.add("accepted", Accepted(key, first["order_id"], first["token"], method, items, attempts))
        if len({answer["order_id"] for answer in answers}) > 1:
            self.journal.add("conflicting", key)

    def _clerk(self, rng: random.Random) -> None:
        token = self._login()
        if token is None:
            return
        headers = {"Authorization": f"Bearer {token}"}
        while not self._done.wait(0.4):
            if rng.random() < 0.5:
                self._restock(rng, headers)
            response = self._call("orders list", "GET", "/api/warehouse/orders?status=confirmed", headers=headers)
            if response is None or response.status_code != 200:
                continue
            for order in response.json()["orders"]:
                if order["order_id"] not in self.journal.dispatched and rng.random() < 0.5:
                    self._dispatch(order["order_id"], headers)

    def _login(self) -> str | None:
        deadline = time.monotonic() + RETRY_FOR_S
        while time.monotonic() < deadline:
            response = self._call(
                "login", "POST", "/api/login", json={"username": DEV_CLERK[0], "password": DEV_CLERK[1]}
            )
            if response is not None and response.status_code == 200:
                token: str = response.json()["token"]
                return token
            time.sleep(0.3)
        return None

    def _restock(self, rng: random.Random, headers: dict[str, str]) -> None:
        """A few units of a nearly sold-out product, or a delivery of a dozen or so of anything."""
        if self.scarce and rng.random() < 0.4:
            product, quantity = rng.choice(self.scarce), rng.randint(1, 3)
        else:
            product, quantity = rng.choice(self.product_ids), rng.randint(5, 20)
        response = self._call(
            "restock",
            "POST",
            f"/api/warehouse/products/{product}/restock",
            json={"quantity": quantity},
            headers=headers,
        )
        if response is None:
            self.journal.restock_unanswered()
        elif response.status_code == 202:
            self.journal.restocked(response.json()["request_id"], product, quantity)

    def _dispatch(self, order_id: str, headers: dict[str, str]) -> None:
        deadline = time.monotonic() + RETRY_FOR_S
        while time.monotonic() < deadline:
            response = self._call("dispatch", "POST", f"/api/warehouse/orders/{order_id}/dispatch", headers=headers)
            if response is None:
                time.sleep(0.3)
                continue
            if response.status_code == 202:
                self.journal.add("dispatched", order_id)
            return

    def _watch(self) -> None:
        """Sample the products (never a negative figure) and the storefront page while the load runs."""
        turn = 0
        while not self._done.wait(0.25):
            turn += 1
            response = self._call("products", "GET", "/api/products")
            if response is not None and response.status_code == 200:
                for product in response.json()["products"]:
                    if not 0 <= product["available"] <= product["on_hand"]:
                        wrong = (
                            f"product {product['id']}: on_hand {product['on_hand']}, available {product['available']}"
                        )
                        self.journal.add("impossible_figures", wrong)
            if turn % 4 == 0:
                self._call("storefront page", "GET", "/", via=self.browser)

    def _call(
        self, action: str, method: str, path: str, via: httpx.Client | None = None, **kwargs: Any
    ) -> httpx.Response | None:
        try:
            response = (via or self.http).request(method, path, **kwargs)
        except httpx.TransportError as exc:
            self.journal.answer(action, None, type(exc).__name__)
            return None
        if (unanswered := self._not_an_answer(response)) is not None:
            self.journal.answer(action, None, unanswered)
            return None
        self.journal.answer(action, response.status_code, response.text[:200] if response.status_code >= 400 else "")
        return response

    def _not_an_answer(self, response: httpx.Response) -> str | None:
        """Why ``response`` is not the web process's answer (then it counts as none), or None."""
        return None


def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)
