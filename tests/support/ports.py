"""Picking TCP ports for throwaway test servers, safely across parallel processes.

Asking the OS for port 0 and closing the socket leaves a window in which another
process can get the same port: another pytest-xdist worker asking the same question,
or any client's outgoing connection, whose source port comes from the same ephemeral
range. So ports come from below that range instead, and each process first claims a
block of them of its own by holding an exclusive lock on a file named after the block
(every checkout's test run on this machine shares the folder). Within its block a
process hands the ports out in turn, skipping any that something already listens on;
a port comes round again only after the rest of the block has been used.
"""

from __future__ import annotations

import fcntl
import os
import socket
import tempfile
import threading
from pathlib import Path
from typing import IO

BLOCK_SIZE = 200
LOWEST_PORT = 15000
LOCK_DIR = Path(tempfile.gettempdir()) / "storefront-test-ports"


def _ephemeral_low() -> int:
    """The first port of the kernel's range for outgoing connections (32768 by default)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


class _Block:
    """The ports ``[first, first + BLOCK_SIZE)``, held by this process through its lock file."""

    def __init__(self, first: int, lock: IO[bytes]) -> None:
        self.first = first
        self.lock = lock
        self.pid = os.getpid()
        self.next = 0


_block: _Block | None = None
_guard = threading.Lock()


def _claim_block() -> _Block | None:
    """Lock the first free block; None when every block is held (then the OS picks)."""
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    top = _ephemeral_low()
    for first in range(LOWEST_PORT, top - BLOCK_SIZE + 1, BLOCK_SIZE):
        lock = (LOCK_DIR / f"{first}.lock").open("ab")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        # Held until this process exits; a forked child inherits the descriptor, so it
        # claims a block of its own (see the pid check in free_port).
        return _Block(first, lock)
    return None


def _is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:``port`` (a closed server's TIME_WAIT is no obstacle)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Servers set SO_REUSEADDR too, so this asks exactly what their bind() will ask.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _os_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free and that no other process using this will pick.

    The caller's server binds it later; until this process has handed out the rest of its
    block, nobody else is given the same port.
    """
    global _block
    with _guard:
        if _block is None or _block.pid != os.getpid():
            _block = _claim_block()
        if _block is None:
            return _os_port()
        for _ in range(BLOCK_SIZE):
            port = _block.first + _block.next
            _block.next = (_block.next + 1) % BLOCK_SIZE
            if _is_free(port):
                return port
        return _os_port()


def free_run(length: int) -> int:
    """The first of ``length`` consecutive free ports, all handed out to the caller.

    For a layout that derives ports from one (``make scale``'s web processes on ``PORT + 1``
    and ``+ 2``, its Redis nodes on ``REDIS_PORT + 1`` to ``+ 4``).
    """
    for _ in range(BLOCK_SIZE):
        first = free_port()
        taken = [first]
        while len(taken) < length and (port := free_port()) == taken[-1] + 1:
            taken.append(port)
        if len(taken) == length:
            return first
    raise RuntimeError(f"no run of {length} free ports")
