"""Configuration files of the scaled layout's servers: Redis nodes, sentinels, HAProxy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

# The name the sentinels know the primary by (REDIS_SENTINEL_MASTER).
MASTER_NAME = "shop"
# How long a primary may be silent before the sentinels call it down, and the bound on
# one failover attempt: a kill -9 costs about this much plus an election.
DOWN_AFTER_MS = 1_000
FAILOVER_TIMEOUT_MS = 5_000


def redis_node(port: int, directory: Path, replica_of: int | None = None) -> str:
    """A Redis node of the pair: AOF fsynced on every write, as scripts/redis.sh runs one.

    The file is the node's own: Sentinel rewrites it (``replicaof``) when roles change,
    so a node restarted after a failover comes back in the role it had.
    """
    lines = [
        f"port {port}",
        "bind 127.0.0.1",
        f'dir "{directory}"',
        "appendonly yes",
        "appendfsync always",
        'save ""',
        "daemonize no",
        'logfile ""',
        # Blocking reads time out on server ticks: 100 a second keeps short BLOCKs short.
        "hz 100",
        # A replica that lost its primary still answers reads, never writes.
        "replica-read-only yes",
        # A replica asking for a full copy gets it at once: Redis would otherwise wait 5 s
        # for others to share the transfer, and the pair has no other replica.
        "repl-diskless-sync-delay 0",
    ]
    if replica_of is not None:
        lines.append(f"replicaof 127.0.0.1 {replica_of}")
    return "\n".join(lines) + "\n"


def sentinel(port: int, directory: Path, primary_port: int, replica_port: int, quorum: int = 2) -> str:
    """One of the sentinels watching the pair (Sentinel rewrites this file as it learns).

    The replica is named too: a sentinel would otherwise learn of it only from the primary's
    INFO, which it asks for every 10 s, and could not fail over until then.
    """
    return (
        "\n".join(
            [
                f"port {port}",
                "bind 127.0.0.1",
                f'dir "{directory}"',
                "daemonize no",
                'logfile ""',
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {primary_port} {quorum}",
                f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}",
                f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}",
                f"sentinel parallel-syncs {MASTER_NAME} 1",
                f"sentinel known-replica {MASTER_NAME} 127.0.0.1 {replica_port}",
            ]
        )
        + "\n"
    )


def haproxy(port: int, web_ports: Sequence[int]) -> str:
    """HAProxy in front of the web processes: round robin, retried elsewhere when one is down.

    The check is a TCP connect, not ``/healthz``: a projector lagging under load makes
    every web answer 503 there, and taking them all out would turn lag into an outage.
    A killed web refuses connections at once; ``redispatch`` sends the request that
    found it dead to another. WebSockets pass through (``timeout tunnel``).
    """
    servers = "\n".join(
        f"    server web{index} 127.0.0.1:{web_port} check inter 500 fall 2 rise 2"
        for index, web_port in enumerate(web_ports, start=1)
    )
    return f"""global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    timeout client-fin 5s
    retries 3
    option redispatch 1
    option forwardfor
    option http-server-close

frontend shop
    bind 127.0.0.1:{port}
    default_backend web

backend web
    balance roundrobin
    # Which web process took a request or a socket (a 101 carries no header of the app's own).
    http-response set-header X-Balanced-To %s
{servers}
"""
