"""The simulated carrier's rules, free of I/O: its name, its tracking numbers and its pace."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

CARRIER = "Parcelo"
TRACKING_PREFIX = "PCL"


def tracking_number(order_id: str) -> str:
    """``PCL`` and ten digits, derived from the order id: a redelivered event gets the same number."""
    digest = hashlib.sha256(f"{CARRIER}:{order_id}".encode()).digest()
    return f"{TRACKING_PREFIX}{int.from_bytes(digest[:8], 'big') % 10**10:010d}"


@dataclass(frozen=True, slots=True)
class Pace:
    """How long a parcel waits for pickup, then how long it travels (seconds)."""

    ship_delay_s: float
    deliver_delay_s: float

    def picked_up_if_waiting_since(self, now: float) -> float:
        """Parcels awaiting pickup since this moment or earlier are shipped now."""
        return now - self.ship_delay_s

    def delivered_if_shipped_since(self, now: float) -> float:
        """Parcels shipped at this moment or earlier are delivered now."""
        return now - self.deliver_delay_s
