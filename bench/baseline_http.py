"""The baseline of the end-to-end scenario: a bare Starlette app that answers a checkout at once.

``POST /api/orders`` reads and parses the JSON body and answers 202 with an order id and a
token, and ``/ws/orders/{id}`` sends ``confirmed`` as soon as it is open. No database, no
events, no access log: what the same load generator gets from uvicorn and Starlette
alone on this machine, the ceiling of any checkout and the floor of its latency.

    python -m bench.baseline_http <port>
"""

from __future__ import annotations

import json
import sys
import uuid

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


async def checkout(request: Request) -> Response:
    json.loads(await request.body())
    order_id = str(uuid.uuid4())
    return JSONResponse(
        {"order_id": order_id, "status": "pending", "token": uuid.uuid4().hex, "tracking_url": f"/orders/{order_id}"},
        status_code=202,
    )


async def order_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    order_id = websocket.path_params["order_id"]
    await websocket.send_text(json.dumps({"type": "order.confirmed", "order_id": order_id, "status": "confirmed"}))
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass


def create_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/api/orders", checkout, methods=["POST"]),
            WebSocketRoute("/ws/orders/{order_id}", order_socket),
        ]
    )


if __name__ == "__main__":
    # The gateway's uvicorn settings (app/__main__.py), less its access log.
    uvicorn.run(
        create_app(),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        access_log=False,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
    )
