"""The web process: ``python -m app`` serves the gateway with uvicorn on ``$PORT``."""

import logging
import os

import uvicorn

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
uvicorn.run(
    "app.main:create_app",
    factory=True,
    host=os.environ.get("HOST", "127.0.0.1"),
    port=int(os.environ.get("PORT", "8000")),
    log_level="info",
    proxy_headers=False,
)
