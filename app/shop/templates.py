"""Rendering pages and fragments: one Jinja2 environment, shared helpers and filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from app.auth.csrf import csrf_token, hx_headers
from app.read_model.queries import payment_view
from app.shop.cart import read_cart
from workers.contracts.orders import CANCELLABLE, ORDER_PATH

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = Jinja2Templates(directory=ROOT / "templates")


def money(cents: int) -> str:
    return f"€{cents / 100:,.2f}"


def timeline(order: dict[str, Any]) -> dict[str, Any]:
    """What the order timeline partial needs: the steps, when each was reached, the payment, and the cancel button.

    ``order`` is the order as the API shows it or the snapshot of a pushed event; a pushed
    one knows nothing of a pending dispatch request, so its button may still show (a click
    then answers why it is too late).
    """
    history = order.get("history") or []
    reached_at = {h["status"]: str(h["at"])[:19].replace("T", " ") for h in history}
    steps = (ORDER_PATH[0], "cancelled") if order["status"] == "cancelled" else ORDER_PATH
    return {
        "order": order,
        "steps": steps,
        "reached_statuses": set(reached_at),
        "reached_at": reached_at,
        "payment": payment_view(order),
        "cancellable": order.get("cancellable", order["status"] in CANCELLABLE),
    }


TEMPLATES.env.globals["money"] = money


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    """A full page; the base layout gets the CSRF token (also as ``hx-headers`` JSON), the clerk and the cart count."""
    token = csrf_token(request)
    base = {
        "csrf_token": token,
        "hx_headers": hx_headers(token),
        "clerk": getattr(request.state, "clerk", None),
        "cart_count": sum(read_cart(request).values()),
    }
    return TEMPLATES.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def fragment(name: str, **context: Any) -> str:
    """A partial rendered outside a request (pushed over a socket)."""
    return TEMPLATES.get_template(name).render(**context)
