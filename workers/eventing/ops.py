"""Operator commands: stream lag, what holds trimming back, outbox backlog, dead letters.

python -m workers.ops status
python -m workers.ops trim [--dry-run] [--keep-s S] [--dlq]
python -m workers.ops dlq
python -m workers.ops retry <dlq-entry-id>

The backbone knows no service and no stream: ``workers.ops`` passes in the ones the
contracts name (the registry's streams, the services).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import MetaData

from workers.eventing.database import Database
from workers.eventing.dead_letters import DLQ_STREAM, RedriveExpired, list_dead_letters, retry_dead_letter
from workers.eventing.outbox import Outbox
from workers.eventing.redis_client import as_text, connect
from workers.eventing.registry import Registry
from workers.eventing.retention import RetentionPolicy
from workers.eventing.settings import Settings
from workers.eventing.tables import backbone_tables
from workers.eventing.trimming import TrimPlan, count_before, ms_of, plan_trim, trim


def outbox_backlogs(settings: Settings, services: Sequence[str]) -> dict[str, int]:
    """Unpublished outbox rows per service (services without a database yet are left out)."""
    backlogs: dict[str, int] = {}
    for service in services:
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


def status(client: redis.Redis, settings: Settings, services: Sequence[str], registry: Registry) -> list[str]:
    lines = [f"{'stream':<12} {'length':>7}  groups (pending / lag)"]
    held: list[str] = []
    keep_s = RetentionPolicy.from_settings(settings).stream_keep_s
    for stream in (*registry.streams, DLQ_STREAM):
        if not client.exists(stream):
            continue
        groups: list[dict[str, Any]] = client.xinfo_groups(stream)
        described = ", ".join(f"{as_text(g['name'])} ({g['pending']} / {g.get('lag')})" for g in groups)
        lines.append(f"{stream:<12} {client.xlen(stream):>7}  {described}")
        if stream != DLQ_STREAM:
            held += _held_back(client, plan_trim(client, stream, keep_s))
    lines.append("")
    lines.append(f"held back beyond the {keep_s:.0f} s history window:")
    lines += held or ["  nothing: every group is within the window"]
    lines.append("")
    lines.append(f"{'service':<12} outbox backlog")
    lines += [f"{service:<12} {backlog}" for service, backlog in outbox_backlogs(settings, services).items()]
    return lines


def trim_streams(client: redis.Redis, streams: Sequence[str], keep_s: float, *, dry_run: bool, dlq: bool) -> list[str]:
    """Trim every one of ``streams`` behind its groups and the window (the dead-letter stream instead with ``dlq``)."""
    lines: list[str] = []
    for stream in (DLQ_STREAM,) if dlq else streams:
        if not client.exists(stream):
            continue
        plan = plan_trim(client, stream, keep_s)
        going = count_before(client, stream, plan.trim_before)
        if dry_run:
            lines.append(f"{stream}: {going} of {plan.length} entries would go ({plan.reason()})")
        else:
            lines.append(f"{stream}: trimmed {trim(client, plan)} of {plan.length} entries ({plan.reason()})")
        lines += _held_back(client, plan)
    return lines or ["nothing to trim"]


def main(argv: list[str] | None = None, *, services: Sequence[str], registry: Registry) -> int:
    """Run one operator command over ``services`` and the streams of ``registry``; the exit status."""
    parser = argparse.ArgumentParser(prog="python -m workers.ops", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="stream lengths, group pending/lag, outbox backlogs")
    trim_cmd = sub.add_parser("trim", help="trim streams behind their slowest group and the history window")
    trim_cmd.add_argument("--dry-run", action="store_true", help="show what would go, and why, and trim nothing")
    trim_cmd.add_argument("--keep-s", type=float, default=None, help="history to keep (default STREAM_KEEP_S)")
    trim_cmd.add_argument("--dlq", action="store_true", help="trim the dead-letter stream instead")
    sub.add_parser("dlq", help="list dead letters")
    retry = sub.add_parser("retry", help="put a dead letter back on its stream")
    retry.add_argument("dlq_id")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    client = connect(settings.redis)
    if args.command == "status":
        print("\n".join(status(client, settings, services, registry)))
    elif args.command == "trim":
        keep_s = args.keep_s if args.keep_s is not None else RetentionPolicy.from_settings(settings).stream_keep_s
        print("\n".join(trim_streams(client, registry.streams, keep_s, dry_run=args.dry_run, dlq=args.dlq)))
    elif args.command == "dlq":
        for letter in list_dead_letters(client):
            print(
                f"{letter.dlq_id}  {letter.stream}/{letter.entry_id}  group={letter.group}  "
                f"type={letter.event_type or '?'}  deliveries={letter.deliveries}  error={letter.error}"
            )
    else:
        redrive_s = RetentionPolicy.from_settings(settings).dlq_redrive_s
        try:
            print(f"re-added as {retry_dead_letter(client, args.dlq_id, redrive_s=redrive_s)}")
        except (KeyError, RedriveExpired) as exc:
            print(exc, file=sys.stderr)
            return 1
    return 0


def _held_back(client: redis.Redis, plan: TrimPlan) -> list[str]:
    """One line per group that keeps entries older than the window on the stream, and how many."""
    lines = []
    for hold in sorted(plan.groups, key=lambda g: ms_of(g.needs_from)):
        if ms_of(hold.needs_from) >= ms_of(plan.window_from):
            continue
        kept = count_before(client, plan.stream, plan.window_from, start=hold.needs_from)
        age = (ms_of(plan.window_from) - ms_of(hold.needs_from)) / 1000
        lines.append(
            f"  {plan.stream}: group {hold.group} holds {kept} entries ({age:.0f} s) beyond the window "
            f"({hold.reason} {hold.needs_from}, {hold.pending} pending, lag {hold.lag})"
        )
    return lines
