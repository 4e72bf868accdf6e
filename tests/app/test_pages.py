"""The HTML pages: the shop's live figures, cart and checkout, order tracking, the clerk's console."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from app.auth.callers import SESSION_COOKIE
from app.shop.cart import CART_COOKIE
from tests.app.browser import elements, text_of
from tests.app.storefront import Placed, Storefront, eventually
from workers.contracts.orders import OrderConfirmed


def confirmed_order(storefront: Storefront) -> Placed:
    placed = storefront.place_order(storefront.add_product())
    storefront.announce_order(OrderConfirmed, placed, version=2, stock_reserved=True)
    eventually(lambda: storefront.order_status(placed, "confirmed"), "the order to be confirmed")
    return placed


def test_the_shop_shows_each_products_shelf_count_and_what_is_still_available(storefront: Storefront) -> None:
    product = storefront.add_product(on_hand=9)
    reserved = storefront.change_stock(product, on_hand=9, reserved=2, version=2, cause="reserve", delta_available=-2)
    storefront.projected(reserved)

    page = storefront.http.get("/")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert text_of(page.text, f"stock-{product.id}") == "9"
    assert text_of(page.text, f"available-{product.id}") == "7"
    assert product.name in (text_of(page.text, f"product-{product.id}") or "")


def test_the_shop_page_carries_the_stream_position_its_figures_reflect(storefront: Storefront) -> None:
    storefront.add_product()

    page = storefront.http.get("/")

    cursor = elements(page.text).attrs["cursor-stock"]
    assert cursor["data-after"] == storefront.http.get("/api/products").json()["stream_id"]


def test_the_warehouse_sends_anonymous_visitors_to_the_login(storefront: Storefront) -> None:
    response = storefront.http.get("/warehouse", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/warehouse"


def test_logging_in_sets_a_session_cookie_scripts_cannot_read(storefront: Storefront) -> None:
    response = storefront.browser_login()

    assert response.headers["location"] == "/warehouse"
    [session] = [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")]
    attributes = {part.strip().lower() for part in session.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= attributes


def test_a_wrong_password_on_the_form_is_refused(storefront: Storefront) -> None:
    token = storefront.page_token("/login")

    response = storefront.http.post(
        "/login", data={"csrf_token": token, "username": "clerk", "password": "nope"}, follow_redirects=False
    )

    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert SESSION_COOKIE not in storefront.http.cookies


def test_the_login_never_redirects_to_another_site(storefront: Storefront) -> None:
    token = storefront.page_token("/login")
    form = {"csrf_token": token, "username": "clerk-under-test", "password": "a-password-only-tests-know"}

    response = storefront.http.post("/login", data={**form, "next": "//evil.example/"}, follow_redirects=False)

    assert response.headers["location"] == "/warehouse"


def test_the_clerk_sees_confirmed_orders_each_with_a_dispatch_button(storefront: Storefront) -> None:
    placed = confirmed_order(storefront)
    pending = storefront.place_order(storefront.add_product())
    storefront.browser_login()

    page = storefront.http.get("/warehouse")

    assert page.status_code == 200
    found = elements(page.text)
    assert found.buttons[f"ready-{placed.order_id}"] == ["Dispatch"]
    assert f"ready-{pending.order_id}" not in found.attrs


def test_the_dispatch_button_asks_the_warehouse(storefront: Storefront) -> None:
    placed = confirmed_order(storefront)
    storefront.browser_login()
    token = storefront.page_token("/warehouse")

    response = storefront.http.post(
        f"/warehouse/orders/{placed.order_id}/dispatch", data={"csrf_token": token}, follow_redirects=False
    )

    assert response.status_code == 303
    eventually(lambda: storefront.published_for("dispatch.requested", placed.order_id), "dispatch.requested")
    page = storefront.http.get("/warehouse")
    assert elements(page.text).buttons[f"ready-{placed.order_id}"] == []  # "Dispatching…" instead


def test_the_restock_form_asks_the_warehouse(storefront: Storefront) -> None:
    product = storefront.add_product()
    storefront.browser_login()
    token = storefront.page_token("/warehouse")

    response = storefront.http.post(
        f"/warehouse/products/{product.id}/restock",
        data={"csrf_token": token, "quantity": "4"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 204

    def restocked() -> bool:
        return any(e.data.product_id == product.id for e in storefront.events("storefront", "restock.requested"))

    eventually(restocked, "restock.requested")


def test_logging_out_ends_the_session(storefront: Storefront) -> None:
    storefront.browser_login()
    token = storefront.page_token("/warehouse")

    response = storefront.http.post("/logout", data={"csrf_token": token}, follow_redirects=False)

    assert response.status_code == 303
    assert storefront.http.get("/warehouse", follow_redirects=False).status_code == 303


def test_a_shopper_checks_out_through_the_cart(storefront: Storefront) -> None:
    product = storefront.add_product(price_cents=2000)
    token = storefront.page_token("/")
    added = storefront.http.post(
        "/cart/add", data={"csrf_token": token, "product_id": str(product.id), "quantity": "2"}
    )
    assert added.status_code == 200
    assert product.name in added.text  # redirected to the cart

    cart = storefront.http.get("/cart")
    form = {
        "csrf_token": storefront.page_token("/cart"),
        "idempotency_key": elements(cart.text).inputs["idempotency_key"],
    }
    customer = {"name": "Ada Lovelace", "email": "ada@example.com", "address": "12 Analytical Row"}
    response = storefront.http.post(
        "/checkout", data={**form, **customer, "payment_method": "pm_card_visa"}, follow_redirects=False
    )

    assert response.status_code == 303
    tracking = urlsplit(response.headers["location"])
    order_id = tracking.path.removeprefix("/orders/")
    [submitted] = eventually(lambda: storefront.published_for("checkout.submitted", order_id), "checkout.submitted")
    assert [(line.product_id, line.quantity, line.line_total_cents) for line in submitted.data.lines] == [
        (product.id, 2, 4000)
    ]
    assert CART_COOKIE not in storefront.http.cookies  # the cart is emptied
    page = storefront.http.get(response.headers["location"])
    assert text_of(page.text, "order-status") == "pending"


def test_an_invalid_checkout_form_shows_the_cart_again_with_the_errors(storefront: Storefront) -> None:
    product = storefront.add_product()
    token = storefront.page_token("/")
    storefront.http.post("/cart/add", data={"csrf_token": token, "product_id": str(product.id), "quantity": "1"})

    response = storefront.http.post(
        "/checkout",
        data={
            "csrf_token": token,
            "name": "Ada",
            "email": "not an email",
            "address": "",
            "payment_method": "pm_card_visa",
        },
    )

    assert response.status_code == 422
    assert "not a valid email address" in response.text
    assert product.name in response.text


def test_an_order_page_needs_the_orders_token(storefront: Storefront) -> None:
    placed = storefront.place_order(storefront.add_product())

    assert storefront.http.get(f"/orders/{placed.order_id}", params={"token": "guess"}).status_code == 404
    assert storefront.http.get(f"/orders/{uuid.uuid4()}", params={"token": placed.token}).status_code == 404
    page = storefront.http.get(f"/orders/{placed.order_id}", params={"token": placed.token})
    assert page.status_code == 200
    assert text_of(page.text, "order-status") == "pending"


def test_a_tampered_cart_cookie_is_an_empty_cart(storefront: Storefront) -> None:
    storefront.http.cookies.set(CART_COOKIE, '{"1": 5}')

    page = storefront.http.get("/cart")

    assert page.status_code == 200
    assert "Your cart is empty" in page.text


def test_an_unknown_page_is_a_friendly_404(storefront: Storefront) -> None:
    response = storefront.http.get("/no/such/page")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
