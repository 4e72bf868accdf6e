"""Staff roles and what each may do: a manager may do everything a clerk may, and more.

Every staff route names the role it needs (``app.auth.access.requires``); this module is the
one place that says which roles satisfy which need.
"""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["clerk", "manager"]
ROLES: tuple[Role, ...] = get_args(Role)

# What each role is granted, itself included.
_GRANTS: dict[str, frozenset[str]] = {
    "clerk": frozenset({"clerk"}),
    "manager": frozenset({"clerk", "manager"}),
}


def may(role: str, needed: str) -> bool:
    """Whether someone with ``role`` may call a route that needs ``needed`` (unknown roles: never)."""
    return needed in _GRANTS.get(role, frozenset())
