"""The operator commands (``workers.eventing.ops``) over the streams and services the contracts name.

python -m workers.ops status | trim [--dry-run] [--keep-s S] [--dlq] | dlq | retry <dlq-entry-id>
"""

from __future__ import annotations

import sys

from workers.contracts import REGISTRY, SERVICES
from workers.eventing import ops


def main(argv: list[str] | None = None) -> int:
    """Run one operator command (``argv``, default the command line's); the exit status."""
    return ops.main(argv, services=SERVICES, registry=REGISTRY)


if __name__ == "__main__":
    sys.exit(main())
