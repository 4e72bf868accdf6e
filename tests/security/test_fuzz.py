"""The JSON API under 1,000 generated inputs: never a 5xx, and nothing invalid accepted.

Checkout bodies are valid-looking, garbage, or anything in between (random types per
field, huge, negative and float quantities, text with control characters and lone
surrogates); a 202 must satisfy the checkout rules, and the order it records must be
exactly what was asked for. Login, restock (as a clerk) and order lookups get the same
treatment. A few page forms that parse numbers get a smaller share.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx2
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from app.read_model.queries import Product
from app.shop.checkout_validation import DEFAULT_MAX_UNITS, PAYMENT_METHODS
from app.shop.warehouse_requests import MAX_RESTOCK
from tests.app.storefront import CLERK_USER, Placed, Storefront

# Examples per test; they add up to the 1,000 inputs of the JSON API (plus the forms).
CHECKOUTS, VALID_CHECKOUTS, RAW_CHECKOUTS, LOGINS, RESTOCKS, LOOKUPS, FORMS = 400, 100, 150, 100, 150, 100, 60
assert CHECKOUTS + VALID_CHECKOUTS + RAW_CHECKOUTS + LOGINS + RESTOCKS + LOOKUPS == 1000


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,  # nothing written to the working tree
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@dataclass(frozen=True)
class Shop:
    storefront: Storefront
    products: dict[int, Product]
    clerk: dict[str, str]  # the Authorization header of a logged-in clerk
    someone: Placed  # an order whose token the fuzzer does not know
    csrf: str  # the browser (logged in as a clerk) posts forms with this token

    @property
    def http(self) -> TestClient:
        return self.storefront.http


@pytest.fixture(scope="module")
def shop(shared_storefront: Storefront) -> Iterator[Shop]:
    products = {p.id: p for p in (shared_storefront.add_product(on_hand=1000) for _ in range(3))}
    clerk = {"Authorization": f"Bearer {shared_storefront.clerk_token()}"}
    someone = shared_storefront.place_order(next(iter(products.values())))
    shared_storefront.http.cookies.clear()
    shared_storefront.browser_login()
    yield Shop(shared_storefront, products, clerk, someone, shared_storefront.page_token("/warehouse"))


def served(response: httpx2.Response) -> httpx2.Response:
    """The response, once it is known not to be a server error (and to explain any client error)."""
    assert response.status_code < 500, response.text
    event(f"{response.request.method} answered {response.status_code}")  # see --hypothesis-show-statistics
    if response.status_code in (400, 409, 413, 422) and "json" in response.headers.get("content-type", ""):
        assert set(response.json()["error"]) == {"message", "fields"}, response.text
    return response


# -- what gets generated ---------------------------------------------------------------------

SURROGATES = st.characters(categories=["Cs"])
TEXT = st.text(st.one_of(st.characters(), SURROGATES), max_size=30)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
ANY_JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12
)
EMAILS = st.from_regex(r"[a-z0-9.+_-]{1,12}@[a-z0-9-]{1,12}\.[a-z]{2,6}", fullmatch=True)
ODD_EMAILS = st.sampled_from(
    [
        "a@b",
        "@b.co",
        "a@.co",
        "a@b.",
        "a b@c.de",
        "é@x.fr",
        "a@b.c\n",
        " a@b.co ",
        "<a@b.co>",
        "a@@b.co",
        "a@b.co,c@d.ef",
    ]
)
PLAIN_TEXT = st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=60).filter(str.strip)
QUANTITIES = st.one_of(
    st.integers(min_value=1, max_value=99),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 100, 99.0, 1.5, 1e308, True, False, "1", None]),
    st.floats(allow_nan=True, allow_infinity=True),
)


def product_ids(shop_ids: list[int]) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(shop_ids), st.integers(min_value=-5, max_value=2**64), SCALARS)


def valid_checkout_bodies(shop_ids: list[int]) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies that follow every rule: the API must accept each one."""
    line = st.fixed_dictionaries(
        {"product_id": st.sampled_from(shop_ids), "quantity": st.integers(min_value=1, max_value=DEFAULT_MAX_UNITS)}
    )
    return st.fixed_dictionaries(
        {
            "email": EMAILS,
            "name": PLAIN_TEXT,
            "address": PLAIN_TEXT,
            "items": st.lists(line, min_size=1, max_size=len(shop_ids), unique_by=lambda i: i["product_id"]),
            "payment_method": st.sampled_from(PAYMENT_METHODS),
        }
    )


# What a field of a valid body can be replaced with.
ODD_FIELDS = {
    "email": st.one_of(ODD_EMAILS, EMAILS.map(lambda e: e.replace("@", "\uff20")), SCALARS),
    "name": st.one_of(TEXT, SCALARS, st.sampled_from(["", "   ", "\n\t", "a\x00b", "x" * 201])),
    "address": st.one_of(TEXT, SCALARS, st.sampled_from(["", " ", "a\rb", "x" * 501])),
    "payment_method": st.one_of(st.sampled_from(["PM_CARD_VISA", "pm_card_visa ", "card"]), TEXT, SCALARS),
    "items": st.one_of(st.just([]), ANY_JSON, st.lists(ANY_JSON, min_size=1, max_size=60)),
}


@st.composite
def nearly_valid_bodies(draw: st.DrawFn, shop_ids: list[int]) -> dict[str, Any]:
    """A valid body with up to two things wrong with it (a third of them are left valid)."""
    body = dict(draw(valid_checkout_bodies(shop_ids)))
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        what = draw(st.sampled_from([*ODD_FIELDS, "line", "repeat", "drop", "extra"]))
        items = body.get("items")
        # An earlier round may have made the items odd (a list of anything): start a line afresh then.
        lines = [line if isinstance(line, dict) else {} for line in items or [{}]] if isinstance(items, list) else [{}]
        if what == "line":  # one line gets an odd product or quantity
            at, key = draw(st.integers(0, len(lines) - 1)), draw(st.sampled_from(["product_id", "quantity"]))
            lines[at] = {**lines[at], key: draw(product_ids(shop_ids) if key == "product_id" else QUANTITIES)}
            body["items"] = lines
        elif what == "repeat":  # the same product again: over the cap in all, or not
            body["items"] = [*lines, {**lines[0], "quantity": draw(st.integers(min_value=1, max_value=99))}]
        elif what == "drop":
            body.pop(draw(st.sampled_from(sorted(body))), None)
        elif what == "extra":
            body[draw(TEXT)] = draw(ANY_JSON)
        else:
            body[what] = draw(ODD_FIELDS[what])
    return body


def checkout_bodies(shop_ids: list[int]) -> st.SearchStrategy[Any]:
    """Valid-looking bodies with a few things wrong, bodies of random fields and types, any JSON at all."""
    item = st.one_of(
        st.fixed_dictionaries({}, optional={"product_id": product_ids(shop_ids), "quantity": QUANTITIES}),
        ANY_JSON,
    )
    loose = st.fixed_dictionaries(
        {},
        optional={
            "email": st.one_of(EMAILS, ODD_FIELDS["email"]),
            "name": st.one_of(PLAIN_TEXT, ODD_FIELDS["name"]),
            "address": st.one_of(PLAIN_TEXT, ODD_FIELDS["address"]),
            "items": st.one_of(st.lists(item, min_size=1, max_size=4), ODD_FIELDS["items"]),
            "payment_method": st.one_of(st.sampled_from(PAYMENT_METHODS), ODD_FIELDS["payment_method"]),
        },
    )
    return st.one_of(nearly_valid_bodies(shop_ids), loose, ANY_JSON)


def encoded(value: Any) -> bytes:
    """JSON as a client would send it; lone surrogates go as ``\\udxxx`` escapes, NaN as ``NaN``."""
    return json.dumps(value).encode()


RAW_BODIES = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=100).map(str.encode),
    TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")),  # not UTF-8 at all
    st.integers(min_value=4000, max_value=6000).map(lambda n: b'{"items": [{"quantity": ' + b"9" * n + b"}]}"),
    st.integers(min_value=1, max_value=30000).map(lambda n: b"[" * n),
    st.sampled_from([b"", b"null", b"NaN", b"-Infinity", b'"\\ud800"', b'{"email": "\\udfff"}', b"{}", b"[]"]),
)
IDEMPOTENCY_KEYS = st.one_of(st.none(), st.text(string.ascii_letters + string.digits + "-_", max_size=220))


# -- the checkout rules, as the contract states them -----------------------------------------


def obeys_the_rules(body: Any, products: dict[int, Product]) -> bool:
    """Known products, whole quantities 1..the shop's cap (per product), an ASCII email with @ and a dotted
    domain, a name and an address that are not blank, a known payment method."""
    if not isinstance(body, dict):
        return False
    email, name, address = body.get("email"), body.get("name"), body.get("address")
    if (
        not isinstance(email, str)
        or not email.isascii()
        or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email.strip())
    ):
        return False
    if not all(isinstance(text, str) and text.strip() for text in (name, address)):
        return False
    if body.get("payment_method") not in PAYMENT_METHODS:
        return False
    return bool(ordered_quantities(body, products))


def ordered_quantities(body: dict[str, Any], products: dict[int, Product]) -> dict[int, int]:
    """Units per product, or {} when any line breaks the rules."""
    items, units = body.get("items"), dict[int, int]()
    if not isinstance(items, list) or not items:
        return {}
    for item in items:
        if not isinstance(item, dict):
            return {}
        product_id, quantity = item.get("product_id"), item.get("quantity")
        if (
            not isinstance(product_id, int)
            or not isinstance(quantity, int)
            or bool in (type(product_id), type(quantity))
        ):
            return {}
        if product_id not in products or not 1 <= quantity <= 99:
            return {}
        units[product_id] = units.get(product_id, 0) + quantity
    return units if all(n <= DEFAULT_MAX_UNITS for n in units.values()) else {}


def assert_recorded_as_asked(shop: Shop, body: dict[str, Any], accepted: dict[str, Any]) -> None:
    """The accepted order, read back with its token, is exactly the checkout that was sent."""
    order = shop.http.get(f"/api/orders/{accepted['order_id']}", headers={"X-Order-Token": accepted["token"]})
    assert order.status_code == 200, order.text
    recorded = order.json()
    units = ordered_quantities(body, shop.products)
    assert {line["product_id"]: line["quantity"] for line in recorded["lines"]} == units
    assert recorded["total_cents"] == sum(shop.products[p].price_cents * n for p, n in units.items())
    assert recorded["customer"]["name"] == body["name"].strip()
    assert recorded["customer"]["email"] == body["email"].strip()


def check_checkout(shop: Shop, body: Any, sent: bytes, key: str | None) -> httpx2.Response:
    headers = {"Content-Type": "application/json", **({"Idempotency-Key": key} if key is not None else {})}
    response = served(shop.http.post("/api/orders", content=sent, headers=headers))
    assert response.status_code in (202, 409, 422), response.text
    if response.status_code == 202:
        assert obeys_the_rules(body, shop.products), f"accepted an invalid checkout: {body!r}"
        assert_recorded_as_asked(shop, body, response.json())
    return response


def half(likely: st.SearchStrategy[Any], otherwise: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``likely`` half of the time (``one_of`` would give it only its share of the branches)."""
    return st.booleans().flatmap(lambda pick: likely if pick else otherwise)


# -- the tests -------------------------------------------------------------------------------

JSON = {"Content-Type": "application/json"}


@fuzz(CHECKOUTS)
@given(data=st.data(), key=IDEMPOTENCY_KEYS)
def test_checkout_never_fails_and_accepts_only_valid_orders(shop: Shop, data: st.DataObject, key: str | None) -> None:
    body = data.draw(checkout_bodies(sorted(shop.products)), label="body")

    check_checkout(shop, body, encoded(body), key)


@fuzz(VALID_CHECKOUTS)
@given(data=st.data())
def test_checkout_accepts_every_valid_order(shop: Shop, data: st.DataObject) -> None:
    body = data.draw(valid_checkout_bodies(sorted(shop.products)), label="body")

    assert check_checkout(shop, body, encoded(body), None).status_code == 202


@fuzz(RAW_CHECKOUTS)
@given(sent=RAW_BODIES)
@example(sent=b'{"items": [{"product_id": 1, "quantity": ' + b"9" * 4301 + b"}]}")
@example(sent=b"[" * 50_000)
def test_checkout_answers_garbage_with_422(shop: Shop, sent: bytes) -> None:
    response = served(shop.http.post("/api/orders", content=sent, headers=JSON))

    assert response.status_code == 422, response.text


CREDENTIALS = st.fixed_dictionaries(
    {
        "username": half(st.one_of(st.just(CLERK_USER), TEXT), SCALARS),
        "password": half(st.one_of(PLAIN_TEXT, TEXT), ANY_JSON),
    }
)
LOGIN_BODIES = half(CREDENTIALS.map(encoded), st.one_of(ANY_JSON.map(encoded), RAW_BODIES))


@fuzz(LOGINS)
@given(sent=LOGIN_BODIES)
def test_login_never_fails_and_lets_no_stranger_in(shop: Shop, sent: bytes) -> None:
    response = served(shop.http.post("/api/login", content=sent, headers=JSON))

    assert response.status_code in (401, 422), response.text


RESTOCK_PATH_IDS = half(
    st.none(),  # one of the shop's products
    st.one_of(
        st.integers(min_value=0, max_value=2**70).map(str),
        st.text("0123456789", min_size=1, max_size=6000),
        TEXT.map(lambda t: quote(t.encode("utf-8", "surrogatepass"), safe="")),
    ),
)
RESTOCK_BODIES = half(
    st.fixed_dictionaries({"quantity": half(st.integers(min_value=1, max_value=MAX_RESTOCK), QUANTITIES)}).map(encoded),
    st.one_of(ANY_JSON.map(encoded), RAW_BODIES),
)


@fuzz(RESTOCKS)
@given(product_id=RESTOCK_PATH_IDS, sent=RESTOCK_BODIES)
@example(product_id="9" * 4301, sent=b'{"quantity": 1}')
def test_restock_never_fails_and_accepts_only_whole_units_of_known_products(
    shop: Shop, product_id: str | None, sent: bytes
) -> None:
    path_id = product_id or str(min(shop.products))

    response = served(
        shop.http.post(f"/api/warehouse/products/{path_id}/restock", content=sent, headers={**shop.clerk, **JSON})
    )

    assert response.status_code in (202, 404, 422), response.text
    if response.status_code == 202:
        quantity = json.loads(sent)["quantity"]
        assert int(path_id) in shop.products
        assert isinstance(quantity, int) and not isinstance(quantity, bool) and 1 <= quantity <= MAX_RESTOCK


ORDER_IDS = st.one_of(st.none(), TEXT.map(lambda t: quote(t.encode("utf-8", "surrogatepass"), safe="")))
TOKENS = st.one_of(st.none(), st.text(string.printable.strip(), max_size=60))


@fuzz(LOOKUPS)
@given(order_id=ORDER_IDS, token=TOKENS, as_query=st.booleans())
def test_order_lookups_never_fail_and_show_nothing_without_the_token(
    shop: Shop, order_id: str | None, token: str | None, as_query: bool
) -> None:
    headers = {"X-Order-Token": token} if token is not None and not as_query else {}
    params = {"token": token} if token is not None and as_query else {}

    response = served(shop.http.get(f"/api/orders/{order_id or shop.someone.order_id}", headers=headers, params=params))

    assert response.status_code in (404, 405), response.text
    assert shop.someone.order_id not in response.text


NUMBERS = st.one_of(
    st.text(st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=3),
    st.text("0123456789", min_size=1, max_size=6000),
    st.sampled_from(["", "-1", "1.5", "0", "1e3", " 1"]),
)


@fuzz(FORMS)
@given(path=st.sampled_from(["/cart/add", "/cart/remove", "restock"]), number=NUMBERS, in_path_or_id=st.booleans())
@example(path="/cart/add", number="²", in_path_or_id=True)
@example(path="/cart/remove", number="²", in_path_or_id=True)
@example(path="restock", number="²", in_path_or_id=False)
@example(path="restock", number="9" * 4301, in_path_or_id=True)
def test_page_forms_that_take_numbers_never_fail(shop: Shop, path: str, number: str, in_path_or_id: bool) -> None:
    product_id = str(min(shop.products))
    if path == "restock":
        path = f"/warehouse/products/{number if in_path_or_id else product_id}/restock"
        form = {"quantity": "1" if in_path_or_id else number}
    else:
        form = {"product_id": number if in_path_or_id else product_id, "quantity": "1" if in_path_or_id else number}

    served(shop.http.post(path, data={**form, "csrf_token": shop.csrf}, follow_redirects=False))
