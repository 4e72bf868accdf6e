"""What a test reads outside the HTTP contract: the emails sent, and the streams where duplicates would show."""

from __future__ import annotations

import json
import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, cast

import redis

from tests.support.waiting import wait_until

Entry = tuple[bytes, dict[bytes, bytes]]
Fingerprint = tuple[tuple[str, int, tuple[tuple[str, int, int | None, str], ...]], ...]


def message_id(order_id: str, status: str) -> str:
    """The ``Message-ID`` of an order's email about ``status`` (the email service's contract)."""
    return f"<{order_id}.{status}@storefront.local>"


def read_email(path: Path) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    return message


def emails_of(data_dir: Path, order_id: str) -> dict[str, EmailMessage]:
    """The ``.eml`` files written for an order (``<order_id>-<status>.eml``), by status."""
    return {
        path.stem.removeprefix(f"{order_id}-"): read_email(path)
        for path in (data_dir / "mail").glob(f"{order_id}-*.eml")
    }


def wait_for_emails(
    data_dir: Path, order_id: str, statuses: list[str], timeout: float = 15.0
) -> dict[str, EmailMessage]:
    """Wait until the order's emails about ``statuses`` are all written; return every email of the order."""

    def written() -> dict[str, EmailMessage] | None:
        found = emails_of(data_dir, order_id)
        return found if set(statuses) <= set(found) else None

    return wait_until(written, timeout, f"emails {statuses} of order {order_id} not all written")


def mail_files(data_dir: Path) -> dict[str, tuple[int, int]]:
    """Every ``.eml`` file with its inode and mtime: a resent email replaces its file, changing both."""
    return {path.name: (path.stat().st_ino, path.stat().st_mtime_ns) for path in (data_dir / "mail").glob("*.eml")}


def events(client: redis.Redis, stream: str) -> list[dict[str, Any]]:
    """Every envelope on ``stream``, decoded, in stream order."""
    return [json.loads(fields[b"event"]) for _entry_id, fields in entries(client, stream) if b"event" in fields]


def entries(client: redis.Redis, stream: str) -> list[Entry]:
    return cast(list[Entry], client.xrange(stream))


def event_ids(client: redis.Redis, stream: str, event_type: str, order_id: str) -> list[str]:
    """Ids of the ``event_type`` events about ``order_id`` on ``stream``, one per entry (copies included)."""
    return [
        e["id"] for e in events(client, stream) if e["type"] == event_type and e["data"].get("order_id") == order_id
    ]


def streams(client: redis.Redis) -> list[str]:
    return sorted(key.decode() for key in client.scan_iter(_type="STREAM"))


def republish_everything(client: redis.Redis) -> dict[str, int]:
    """Add a copy of every entry of every stream at its end (the same fields, so the same event ids).

    The entries are read before any is added, so each is copied once. Returns the stream lengths before.
    """
    originals = {stream: entries(client, stream) for stream in streams(client)}
    for stream, stream_entries in originals.items():
        pipe = client.pipeline(transaction=False)
        for _entry_id, fields in stream_entries:
            pipe.xadd(stream, cast(dict[Any, Any], fields))
        pipe.execute()
    return {stream: len(stream_entries) for stream, stream_entries in originals.items()}


def fingerprint(client: redis.Redis) -> Fingerprint:
    """Each stream's length and each group's (name, pending, lag, last delivered id)."""
    result = []
    for stream in streams(client):
        groups = tuple(
            sorted(
                (g["name"].decode(), int(g["pending"]), g.get("lag"), g["last-delivered-id"].decode())
                for g in client.xinfo_groups(stream)
            )
        )
        result.append((stream, int(client.xlen(stream)), groups))
    return tuple(result)


def drained(state: Fingerprint) -> bool:
    """Every group has read and acknowledged everything on its stream."""
    return all(pending == 0 and lag == 0 for _s, _n, groups in state for _g, pending, lag, _last in groups)


def wait_for_quiet(client: redis.Redis, quiet_s: float = 1.0, timeout: float = 20.0) -> Fingerprint:
    """Wait until every group is drained and nothing on any stream changed for ``quiet_s``.

    A handler commits its outbox rows before it acks, and the relay publishes them just
    after, so "drained" alone can be seen between the two; staying unchanged for longer
    than the relay's poll interval (0.5 s) closes that gap.
    """
    stable: list[tuple[Fingerprint, float]] = []

    def quiet() -> Fingerprint | None:
        now, current = time.monotonic(), fingerprint(client)
        if not drained(current) or not stable or stable[0][0] != current:
            stable[:] = [(current, now)] if drained(current) else []
            return None
        return current if now - stable[0][1] >= quiet_s else None

    return wait_until(quiet, timeout, "the streams never went quiet")
