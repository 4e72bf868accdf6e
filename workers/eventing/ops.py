"""Operator commands: stream lag, outbox backlog, dead letters.

python -m workers.eventing.ops status
python -m workers.eventing.ops dlq
python -m workers.eventing.ops retry <dlq-entry-id>
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import MetaData

from workers.eventing.database import Database
from workers.eventing.dead_letters import DLQ_STREAM, list_dead_letters, retry_dead_letter
from workers.eventing.outbox import Outbox
from workers.eventing.redis_client import connect
from workers.eventing.registry import Registry
from workers.eventing.settings import Settings
from workers.eventing.tables import backbone_tables

SERVICES = ("gateway", "catalog", "orders", "payments", "warehouse", "shipping", "email")
STREAMS = ("storefront", "catalog", "orders", "payments", "warehouse", "stock", "shipping", DLQ_STREAM)


def outbox_backlogs(settings: Settings) -> dict[str, int]:
    """Unpublished outbox rows per service (services without a database yet are left out)."""
    backlogs: dict[str, int] = {}
    for service in SERVICES:
        url = settings.database_url(service)
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
            continue
        metadata = MetaData()
        backbone_tables(metadata)
        db = Database(url, metadata)
        try:
            backlogs[service] = Outbox(db, service, Registry()).backlog()
        finally:
            db.dispose()
    return backlogs


def status(client: redis.Redis, settings: Settings) -> list[str]:
    lines = [f"{'stream':<12} {'length':>7}  groups (pending / lag)"]
    for stream in STREAMS:
        if not client.exists(stream):
            continue
        groups: list[dict[str, Any]] = client.xinfo_groups(stream)
        described = ", ".join(f"{_text(g['name'])} ({g['pending']} / {g.get('lag')})" for g in groups)
        lines.append(f"{stream:<12} {client.xlen(stream):>7}  {described}")
    lines.append("")
    lines.append(f"{'service':<12} outbox backlog")
    lines += [f"{service:<12} {backlog}" for service, backlog in outbox_backlogs(settings).items()]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers.eventing.ops", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="stream lengths, group pending/lag, outbox backlogs")
    sub.add_parser("dlq", help="list dead letters")
    retry = sub.add_parser("retry", help="put a dead letter back on its stream")
    retry.add_argument("dlq_id")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    client = connect(settings.redis_url)
    if args.command == "status":
        print("\n".join(status(client, settings)))
    elif args.command == "dlq":
        for letter in list_dead_letters(client):
            print(
                f"{letter.dlq_id}  {letter.stream}/{letter.entry_id}  group={letter.group}  "
                f"type={letter.event_type or '?'}  deliveries={letter.deliveries}  error={letter.error}"
            )
    else:
        try:
            print(f"re-added as {retry_dead_letter(client, args.dlq_id)}")
        except KeyError as exc:
            print(exc, file=sys.stderr)
            return 1
    return 0


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


if __name__ == "__main__":
    sys.exit(main())
