"""What shoppers type and what the catalog announces is shown escaped: in pages, pushed fragments and emails."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import pytest
from starlette.testclient import WebSocketTestSession

from app.read_model.queries import Product
from tests.app.browser import next_text
from tests.app.storefront import Placed, Storefront
from tests.security.hostile import (
    ATTRIBUTE,
    HOSTILE_ADDRESS,
    HOSTILE_CUSTOMER,
    HOSTILE_NAME,
    HOSTILE_PRODUCT,
    PAYLOADS,
    SCRIPT,
    assert_inert,
)
from tests.support.harness import ServiceHarness
from tests.workers.email.conftest import bodies, read_eml
from tests.workers.order_snapshots import line, new_order_id, order_event
from workers.contracts.common import Customer, Line
from workers.contracts.orders import (
    OrderCancelled,
    OrderConfirmed,
    OrderDelivered,
    OrderDispatched,
    OrderPlaced,
    OrderShipped,
    OrderSnapshot,
)

PRODUCT_NAME = HOSTILE_PRODUCT["name"]


def hostile_product(storefront: Storefront) -> Product:
    return storefront.add_product(
        name=HOSTILE_PRODUCT["name"], description=HOSTILE_PRODUCT["description"], sku=HOSTILE_PRODUCT["sku"]
    )


def hostile_order(storefront: Storefront, product: Product) -> Placed:
    """A hostile customer checks out the hostile product through the JSON API."""
    response = storefront.checkout([{"product_id": product.id, "quantity": 2}], **HOSTILE_CUSTOMER)
    assert response.status_code == 202, response.text
    body = response.json()
    ordered = Line(
        product_id=product.id,
        sku=product.sku,
        name=product.name,
        unit_price_cents=product.price_cents,
        quantity=2,
        line_total_cents=2 * product.price_cents,
    )
    return Placed(body["order_id"], body["token"], [ordered])


def announce(storefront: Storefront, model: type[OrderSnapshot], placed: Placed, version: int, **fields: Any) -> str:
    """The orders service's event for the hostile order; returns the entry id once projected."""
    published = storefront.announce_order(
        model, placed, version=version, customer=Customer(**HOSTILE_CUSTOMER), **fields
    )
    storefront.projected(published)
    return published.entry_id


def last_entry(storefront: Storefront, stream: str) -> str:
    """The newest entry on ``stream``: a socket opened after it is pushed only what comes next."""
    newest = cast(list[tuple[bytes, Any]], storefront.redis.xrevrange(stream, count=1))
    return newest[0][0].decode() if newest else "0-0"


def pushed_until(socket: WebSocketTestSession, marker: str) -> str:
    """Pushed fragments, each checked to be inert, until one mentions ``marker``."""
    while True:
        html = next_text(socket)
        assert_inert(html)
        if marker in html:
            return html


# -- pages ---------------------------------------------------------------------------------


def test_a_hostile_product_is_escaped_on_the_shop_page(storefront: Storefront) -> None:
    hostile_product(storefront)

    assert_inert(storefront.http.get("/").text, shown=[PRODUCT_NAME, HOSTILE_PRODUCT["description"]])


def test_a_hostile_product_is_escaped_in_the_cart(storefront: Storefront) -> None:
    product = hostile_product(storefront)
    token = storefront.page_token("/")
    storefront.http.post("/cart/add", data={"csrf_token": token, "product_id": str(product.id), "quantity": "1"})

    assert_inert(storefront.http.get("/cart").text, shown=[PRODUCT_NAME])


def test_a_hostile_customer_and_product_are_escaped_on_the_order_page(storefront: Storefront) -> None:
    placed = hostile_order(storefront, hostile_product(storefront))

    page = storefront.http.get(f"/orders/{placed.order_id}", params={"token": placed.token})

    assert page.status_code == 200
    assert_inert(page.text, shown=[HOSTILE_NAME, HOSTILE_ADDRESS, PRODUCT_NAME])


def test_what_the_services_report_about_an_order_is_escaped_on_its_page(storefront: Storefront) -> None:
    shipped = hostile_order(storefront, hostile_product(storefront))
    cancelled = hostile_order(storefront, hostile_product(storefront))
    announce(storefront, OrderShipped, shipped, 2, carrier=SCRIPT, tracking_number=ATTRIBUTE)
    announce(storefront, OrderCancelled, cancelled, 2, cancel_reason=f"{SCRIPT}{ATTRIBUTE}")

    for placed in (shipped, cancelled):
        page = storefront.http.get(f"/orders/{placed.order_id}", params={"token": placed.token})
        assert_inert(page.text, shown=PAYLOADS)


def test_a_checkout_form_sent_back_with_errors_escapes_what_the_shopper_typed(storefront: Storefront) -> None:
    product = hostile_product(storefront)
    token = storefront.page_token("/")
    storefront.http.post("/cart/add", data={"csrf_token": token, "product_id": str(product.id), "quantity": "1"})
    form = {**HOSTILE_CUSTOMER, "email": "not an address", "payment_method": ATTRIBUTE, "csrf_token": token}

    page = storefront.http.post("/checkout", data=form)

    assert page.status_code == 422
    assert_inert(page.text, shown=[HOSTILE_NAME, HOSTILE_ADDRESS, PRODUCT_NAME])


def test_a_failed_login_sends_back_the_username_escaped(storefront: Storefront) -> None:
    token = storefront.page_token("/login")

    page = storefront.http.post("/login", data={"csrf_token": token, "username": HOSTILE_NAME, "password": "x"})

    assert page.status_code == 401
    assert_inert(page.text, shown=[HOSTILE_NAME])


@pytest.mark.parametrize(
    ("path", "params", "shown"),
    [
        ("/", {"flash": SCRIPT}, [SCRIPT]),
        ("/warehouse", {"flash": ATTRIBUTE}, [ATTRIBUTE]),
        ("/login", {"next": f"/{ATTRIBUTE}{SCRIPT}"}, [f"/{ATTRIBUTE}{SCRIPT}"]),
        (f"/orders/{SCRIPT}", {"token": ATTRIBUTE}, []),
        (f"/no-such-page/{SCRIPT}", {}, []),
    ],
    ids=["shop-flash", "warehouse-flash", "login-next", "order-id", "unknown-path"],
)
def test_what_a_link_carries_is_escaped_on_the_page_it_opens(
    storefront: Storefront, path: str, params: dict[str, str], shown: list[str]
) -> None:
    storefront.browser_login()

    assert_inert(storefront.http.get(path, params=params).text, shown=shown)


def test_hostile_orders_and_products_are_escaped_in_the_warehouse_console(storefront: Storefront) -> None:
    product = hostile_product(storefront)
    confirmed, dispatched = hostile_order(storefront, product), hostile_order(storefront, product)
    announce(storefront, OrderConfirmed, confirmed, 2)
    announce(storefront, OrderConfirmed, dispatched, 2)
    announce(storefront, OrderDispatched, dispatched, 3)
    storefront.browser_login()

    page = storefront.http.get("/warehouse")

    assert f'id="ready-{confirmed.order_id}"' in page.text
    assert f'id="recent-{dispatched.order_id}"' in page.text
    assert_inert(page.text, shown=[HOSTILE_NAME, PRODUCT_NAME, SCRIPT])


# -- pushed fragments ----------------------------------------------------------------------


def test_the_console_socket_pushes_hostile_orders_escaped(storefront: Storefront) -> None:
    placed = hostile_order(storefront, hostile_product(storefront))
    storefront.browser_login()
    after = last_entry(storefront, "orders")

    with storefront.http.websocket_connect(f"/live/console?orders={after}") as socket:
        announce(storefront, OrderConfirmed, placed, 2)
        ready = pushed_until(socket, f"ready-{placed.order_id}")
        announce(storefront, OrderDispatched, placed, 3)
        recent = pushed_until(socket, f'id="recent-{placed.order_id}"')

    assert_inert(ready, shown=[HOSTILE_NAME, PRODUCT_NAME])
    assert_inert(recent, shown=[HOSTILE_NAME])


def test_the_order_socket_pushes_what_the_services_report_escaped(storefront: Storefront) -> None:
    placed = hostile_order(storefront, hostile_product(storefront))
    after = last_entry(storefront, "orders")

    with storefront.http.websocket_connect(
        f"/live/orders/{placed.order_id}?token={placed.token}&after={after}"
    ) as socket:
        announce(storefront, OrderCancelled, placed, 2, cancel_reason=SCRIPT, carrier=ATTRIBUTE, tracking_number="T")
        pushed = pushed_until(socket, "cancelled")

    assert_inert(pushed, shown=[SCRIPT])


def test_the_shop_socket_pushes_nothing_a_hostile_product_could_use(storefront: Storefront) -> None:
    product = hostile_product(storefront)
    after = last_entry(storefront, "stock")

    with storefront.http.websocket_connect(f"/live/shop?after={after}") as socket:
        storefront.change_stock(product, on_hand=4, version=2, cause="restock", delta_on_hand=-6)
        pushed = pushed_until(socket, f"figures-{product.id}")

    assert_inert(pushed)


# -- emails --------------------------------------------------------------------------------

EMAILED = [
    (OrderPlaced, {}),
    (OrderConfirmed, {}),
    (OrderCancelled, {"cancel_reason": f"{SCRIPT}{ATTRIBUTE}"}),
    (OrderDispatched, {}),
    (OrderShipped, {"carrier": SCRIPT, "tracking_number": ATTRIBUTE}),
    (OrderDelivered, {"carrier": SCRIPT, "tracking_number": ATTRIBUTE}),
]


def hostile_emails(email_service: ServiceHarness, mail_dir: Path, customer: Customer) -> list[EmailMessage]:
    """Every email of an order of the hostile product by ``customer``, as the email service writes them."""
    order_id = new_order_id()
    ordered = [line(7, 2, sku=HOSTILE_PRODUCT["sku"], name=PRODUCT_NAME)]
    for model, fields in EMAILED:
        data = order_event(model, order_id, ordered, customer=customer, **fields)
        email_service.publish(data, aggregate_id=order_id, aggregate_version=len(data.history))
    email_service.run_until_idle()
    messages = [read_eml(path) for path in sorted(mail_dir.glob(f"{order_id}-*.eml"))]
    assert len(messages) == len(EMAILED)
    return messages


def test_every_email_escapes_hostile_text_in_its_html_part(email_service: ServiceHarness, mail_dir: Path) -> None:
    for message in hostile_emails(email_service, mail_dir, Customer(**HOSTILE_CUSTOMER)):
        _text, html = bodies(message)
        assert_inert(html, shown=[HOSTILE_NAME, HOSTILE_ADDRESS, PRODUCT_NAME])


def test_every_email_carries_hostile_text_verbatim_in_its_text_part(
    email_service: ServiceHarness, mail_dir: Path
) -> None:
    for message in hostile_emails(email_service, mail_dir, Customer(**HOSTILE_CUSTOMER)):
        text, _html = bodies(message)
        for shown in (HOSTILE_NAME, PRODUCT_NAME, *HOSTILE_ADDRESS.splitlines()):
            assert shown in text


HEADERS = {"from", "to", "subject", "date", "message-id", "auto-submitted", "mime-version", "content-type"}


@pytest.mark.parametrize(
    "name",
    [
        HOSTILE_NAME,
        "Eve\r\nBcc: victim@example.com",
        "Eve\nCc: victim@example.com\n\n<script>alert(1)</script>",
        "Mallory <mallory@evil.example>, victim@example.com",
        '"Eve" <mallory@evil.example>',
    ],
    ids=["payloads", "crlf-bcc", "lf-cc-and-body", "extra-address", "quoted-address"],
)
def test_a_hostile_name_cannot_add_headers_or_recipients(
    email_service: ServiceHarness, mail_dir: Path, name: str
) -> None:
    customer = Customer(email="eve@example.com", name=name, address=HOSTILE_ADDRESS)

    for message in hostile_emails(email_service, mail_dir, customer):
        assert {key.lower() for key in message} == HEADERS
        [recipient] = message["To"].addresses
        assert recipient.addr_spec == "eve@example.com"
        assert recipient.display_name == " ".join(name.split())
        assert not any(payload in str(message["Subject"]) for payload in PAYLOADS)
