"""The web process: ``python -m app`` serves the gateway with uvicorn on ``$HOST:$PORT``."""

import uvicorn

from app.http.access_log import RedactTokens
from app.http.serving import guard_options
from app.main import create_app
from app.settings import GatewaySettings
from workers.eventing.logs import setup_logging
from workers.eventing.tracing import setup_tracing

# The process's one reading of its configuration; everything below is handed what it needs.
settings = GatewaySettings.from_env()
# One set-up for every line, uvicorn's included, with order tokens redacted from all of them.
setup_logging("web", filters=[RedactTokens()])
setup_tracing("web", settings.backbone)
# uvicorn's own logging configuration is left out: its loggers go through the one above.
options = {**guard_options(settings.request_header_timeout_s, settings.web_max_connections), "log_config": None}
uvicorn.run(
    create_app(settings),
    host=settings.host,
    port=settings.port,
    log_level="info",
    proxy_headers=False,
    # The sans-I/O protocol lets live push write one pre-framed message to many sockets
    # (app/live/direct.py). No per-message deflate: the messages are small, and a zlib
    # context per socket would cost more memory than the socket itself.
    ws="websockets-sansio",
    ws_per_message_deflate=False,
    ws_max_size=16 * 1024,
    # Heartbeat: a socket whose peer stops answering pings is closed.
    ws_ping_interval=settings.ws_ping_interval_s,
    ws_ping_timeout=settings.ws_ping_timeout_s,
    # Header deadline, connection bound, keep-alive, and order tokens redacted from the log.
    **options,
)
