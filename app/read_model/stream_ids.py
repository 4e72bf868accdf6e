"""Redis stream entry ids ("<ms>-<seq>") compared as numbers, not as text."""

from __future__ import annotations

import re

_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


def is_stream_id(value: str) -> bool:
    return bool(_ID.match(value))


def id_key(value: str) -> tuple[int, int]:
    ms, _, seq = value.partition("-")
    return int(ms), int(seq or 0)


def later(a: str, b: str) -> str:
    """The later of two entry ids."""
    return a if id_key(a) >= id_key(b) else b
