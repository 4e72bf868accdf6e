"""Reading JSON request bodies, with a clear answer for anything that is not JSON."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from app.http.errors import ApiError


async def read_json(request: Request) -> Any:
    """The body as JSON (its size is capped by ``app.http.limits.BodyLimit``), or a 4xx saying why not.

    Only ``application/json`` is read (415 otherwise): a page of another site can post
    ``text/plain`` without asking, but must ask the browser first (a CORS preflight, which
    this API never grants) before it can send JSON.
    """
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(415, "Send the body as JSON, with Content-Type: application/json.")
    body = await request.body()
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(422, "The request body is not valid JSON.", {"body": "not valid JSON"}) from None
    except RecursionError:
        # A few kilobytes of "[[[[" exhaust the decoder's stack: bad input, not a server fault.
        raise ApiError(422, "The request body is nested too deeply.", {"body": "nested too deeply"}) from None
    except ValueError:
        # A number of more than 4300 digits: Python refuses to convert it (a guard against slow int parsing).
        raise ApiError(422, "The request body has a number too long to read.", {"body": "number too long"}) from None
    where = _not_text(parsed)
    if where is not None:
        # The bad text may be a key, and so part of ``where``: name it escaped, or the answer cannot be encoded.
        field = where.encode("utf-8", "backslashreplace").decode() or "body"
        raise ApiError(422, "The request has text that is not valid Unicode.", {field: "not valid text"})
    return parsed


def _not_text(value: Any, path: str = "") -> str | None:
    """Where the body holds half a surrogate pair ("\\ud800": valid JSON, not valid text)."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = ((f"[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for key, item in items:
        name = f"{path}.{key}" if path and not str(key).startswith("[") else f"{path}{key}"
        found = _not_text(key, name) if isinstance(key, str) and _not_text(key) is not None else _not_text(item, name)
        if found is not None:
            return found
    return None
