"""Helpers for picking TCP ports for throwaway test servers."""

import socket


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    The OS picks the port; we close our socket straight away so the server
    under test can bind it. Another process could grab it in between, but
    that race is rare and shows up as a clear "Address already in use".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
