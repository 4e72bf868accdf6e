"""Time-ordered unique identifiers (UUIDv7, RFC 9562).

Python 3.11 has no ``uuid.uuid7``; this one keeps ids from one process strictly
increasing even within the same millisecond, so sorting by id sorts by time.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0
# Random bits from a generator seeded from the OS, not a getrandom() call per id: ids are
# made for every event. A forked child reseeds, so parent and child never share a sequence.
_random = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(32)))


def uuid7() -> str:
    """Return a new UUIDv7 as its canonical string."""
    global _last_ms, _counter
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            _counter = _random.getrandbits(10)
        else:
            _counter += 1
            if _counter > 0xFFF:  # more than 3,000 ids in one millisecond: borrow the next one
                _last_ms += 1
                _counter = 0
        ms, counter = _last_ms, _counter
    rand_b = _random.getrandbits(62)
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand_b
    return str(uuid.UUID(int=value))
