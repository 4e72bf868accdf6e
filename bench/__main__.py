"""``make bench``: run every benchmark on throwaway servers and print the figures."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from bench import backbone, live


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        print(backbone.report(backbone.run(Path(workdir) / "backbone")), flush=True)
        print()
        print(live.report(live.run(Path(workdir) / "live")), flush=True)


if __name__ == "__main__":
    main()
