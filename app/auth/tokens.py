"""Secrets handed to browsers and API clients; only their hashes are stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def matches(token: str | None, stored_hash: str) -> bool:
    return token is not None and hmac.compare_digest(token_hash(token), stored_hash)
