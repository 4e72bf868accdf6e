"""Path parameters the routes share: a product id is a whole number a database can hold."""

from __future__ import annotations

from starlette.convertors import CONVERTOR_TYPES, IntegerConvertor, register_url_convertor


class IdConvertor(IntegerConvertor):
    # At most 18 digits. Starlette's "int" matches any run of digits, and int() of more than
    # 4300 of them raises while the route is matched: a 500 for anyone, before any guard runs.
    regex = "[0-9]{1,18}"


PRODUCT_ID = "{product_id:id}"


def register_convertors() -> None:
    """Make ``{name:id}`` known to Starlette (its registry is global); called by ``create_app``, once or more."""
    if not isinstance(CONVERTOR_TYPES.get("id"), IdConvertor):
        register_url_convertor("id", IdConvertor())
