"""Stream ``warehouse``: reservations and dispatches, per order."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from workers.contracts.common import Quantity
from workers.eventing.envelope import EventData


class ReservationSnapshot(EventData):
    STREAM: ClassVar[str] = "warehouse"

    order_id: str
    status: Literal["held", "refused", "released", "dispatched"]
    lines: list[Quantity]
    reason: str | None = None
    at: datetime


class ReservationConfirmed(ReservationSnapshot):
    """Every line of the order is set aside."""

    TYPE: ClassVar[str] = "reservation.confirmed"


class ReservationRefused(ReservationSnapshot):
    """Some line could not be reserved; nothing was."""

    TYPE: ClassVar[str] = "reservation.refused"


class ReservationReleased(ReservationSnapshot):
    """The order was cancelled; its units are available again."""

    TYPE: ClassVar[str] = "reservation.released"


class DispatchCompleted(ReservationSnapshot):
    """The goods left the shelf."""

    TYPE: ClassVar[str] = "dispatch.completed"
