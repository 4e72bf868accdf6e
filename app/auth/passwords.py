"""Password hashing with scrypt from the standard library (no extra dependency).

A stored hash names the cost it was made with, so a hash made at another cost still
verifies; ``made_at`` tells whether an account's hash should be made again at today's.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

SCHEME = "scrypt"
PRODUCTION_N = 2**14


@dataclass(frozen=True)
class Cost:
    """scrypt's work factor ``n`` (a power of two: CPU time and memory), block size ``r`` and parallelism ``p``.

    ``PASSWORD_SCRYPT_N`` sets ``n``: tests lower it, since every login costs one hash;
    ``SHOP_ENV=production`` refuses anything below ``PRODUCTION_N``.
    """

    n: int = PRODUCTION_N
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        if self.n < 2 or self.n & (self.n - 1):
            raise ValueError(f"scrypt's n must be a power of two above 1, not {self.n}")


DEFAULT_COST = Cost()


def hash_password(password: str, cost: Cost = DEFAULT_COST) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=cost.n, r=cost.r, p=cost.p)
    return f"{SCHEME}${cost.n}${cost.r}${cost.p}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != SCHEME:
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(candidate.hex(), digest)


def made_at(stored: str, cost: Cost) -> bool:
    """Whether ``stored`` was hashed at ``cost``."""
    return stored.split("$")[:4] == [SCHEME, str(cost.n), str(cost.r), str(cost.p)]
