"""The secret that signs cookies: ``SHOP_SECRET_KEY``, or one generated once per data dir."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def secret_key(configured: str, data_dir: Path) -> str:
    """``configured`` if set, else the data dir's own key (made on first use, readable by its owner alone)."""
    if configured:
        return configured
    path = data_dir / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        key = secrets.token_urlsafe(32)
        handle.write(key)
    return key
