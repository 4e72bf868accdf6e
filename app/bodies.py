"""Reading request bodies with a size cap and a clear answer for anything that is not JSON."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from app.errors import ApiError

MAX_BODY_BYTES = 64 * 1024


async def read_json(request: Request) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"The request body is larger than {MAX_BODY_BYTES} bytes.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"The request body is larger than {MAX_BODY_BYTES} bytes.")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(422, "The request body is not valid JSON.", {"body": "not valid JSON"}) from None
    except RecursionError:
        # A few kilobytes of "[[[[" exhaust the decoder's stack: bad input, not a server fault.
        raise ApiError(422, "The request body is nested too deeply.", {"body": "nested too deeply"}) from None
