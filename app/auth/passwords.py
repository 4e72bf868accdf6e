"""Password hashing with scrypt from the standard library (no extra dependency).

A stored hash names the cost it was made with, so a hash made at another cost still
verifies; ``made_at`` tells whether an account's hash should be made again at today's.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from dataclasses import dataclass

SCHEME = "scrypt"
PRODUCTION_N = 2**14
# OWASP's recommendation for scrypt; at r=8 one hash holds 128 MiB while it runs.
MAX_N = 2**17
# Hashes computed at once (logins run in a thread pool of 40): more would only share the
# cores, and at MAX_N forty would hold 5 GiB.
_AT_ONCE = threading.BoundedSemaphore(4)


@dataclass(frozen=True)
class Cost:
    """scrypt's work factor ``n`` (a power of two: CPU time and memory), block size ``r`` and parallelism ``p``.

    ``PASSWORD_SCRYPT_N`` sets ``n``, up to ``MAX_N``: tests lower it, since every login costs
    one hash; ``SHOP_ENV=production`` refuses anything below ``PRODUCTION_N``.
    """

    n: int = PRODUCTION_N
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        if self.n < 2 or self.n > MAX_N or self.n & (self.n - 1):
            raise ValueError(f"scrypt's n must be a power of two from 2 to {MAX_N}, not {self.n}")


DEFAULT_COST = Cost()


def hash_password(password: str, cost: Cost = DEFAULT_COST) -> str:
    salt = os.urandom(16)
    digest = _scrypt(password, salt, cost.n, cost.r, cost.p)
    return f"{SCHEME}${cost.n}${cost.r}${cost.p}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != SCHEME:
        return False
    candidate = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
    return hmac.compare_digest(candidate.hex(), digest)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # OpenSSL refuses more than 32 MiB unless told: n=2**15 at r=8 already needs that much.
    memory = 128 * r * (n + p + 2) + (1 << 20)
    with _AT_ONCE:
        return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=memory)


def made_at(stored: str, cost: Cost) -> bool:
    """Whether ``stored`` was hashed at ``cost``."""
    return stored.split("$")[:4] == [SCHEME, str(cost.n), str(cost.r), str(cost.p)]
