"""The web process: ``python -m app`` serves the gateway with uvicorn on ``$PORT``."""

import os

import uvicorn

from app.http.access_log import RedactTokens
from app.http.serving import guard_options
from workers.eventing import Settings
from workers.eventing.logs import setup_logging
from workers.eventing.tracing import setup_tracing

# One set-up for every line, uvicorn's included, with order tokens redacted from all of them.
setup_logging("web", filters=[RedactTokens()])
setup_tracing("web", Settings.from_env())
# uvicorn's own logging configuration is left out: its loggers go through the one above.
options = {**guard_options(Settings.from_env()), "log_config": None}
uvicorn.run(
    "app.main:create_app",
    factory=True,
    host=os.environ.get("HOST", "127.0.0.1"),
    port=int(os.environ.get("PORT", "8000")),
    log_level="info",
    proxy_headers=False,
    # The sans-I/O protocol lets live push write one pre-framed message to many sockets
    # (app/live/direct.py). No per-message deflate: the messages are small, and a zlib
    # context per socket would cost more memory than the socket itself.
    ws="websockets-sansio",
    ws_per_message_deflate=False,
    ws_max_size=16 * 1024,
    # Heartbeat: a socket whose peer stops answering pings is closed.
    ws_ping_interval=float(os.environ.get("WS_PING_INTERVAL_S", "20")),
    ws_ping_timeout=float(os.environ.get("WS_PING_TIMEOUT_S", "20")),
    # Header deadline, connection bound, keep-alive, and order tokens redacted from the log.
    **options,
)
