"""Setting the shop's cookies, all with the same attributes: HttpOnly, SameSite=Lax, path /."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.http.site import site


def secure(request: Request) -> bool:
    """Whether cookies get ``Secure``: with an https public origin, in production, or over https.

    Behind a proxy that ends TLS the request itself looks like plain http (proxy headers
    are not trusted), so the configured origin, not the request, decides.
    """
    return site(request).secure_cookies or request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure(request), path="/")


def delete_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, httponly=True, samesite="lax", secure=secure(request), path="/")
