"""The operator commands print lag, backlog and dead letters, and retry a dead letter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import redis

from workers import ops
from workers.eventing.dead_letters import DLQ_STREAM, dead_letter, list_dead_letters


@pytest.fixture
def environment(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    with redis.Redis.from_url(redis_url) as client:
        yield client


def test_status_shows_each_stream_with_its_groups_pending_and_lag(
    environment: redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.xadd("orders", {b"type": b"order.placed", b"event": b"{}"})
    environment.xgroup_create("orders", "email", id="0")

    assert ops.main(["status"]) == 0

    out = capsys.readouterr().out
    assert "orders" in out
    assert "email (0 / 1)" in out


def test_dead_letters_are_listed_and_one_can_be_retried(
    environment: redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    added = environment.xadd("orders", {b"type": b"order.placed", b"event": b"{broken"})
    entry_id = added.decode() if isinstance(added, bytes) else added
    environment.xgroup_create("orders", "email", id="0")
    environment.xreadgroup("email", "c1", {"orders": ">"})
    dead_letter(
        environment,
        stream="orders",
        entry_id=entry_id,
        group="email",
        fields={b"type": b"order.placed", b"event": b"{broken"},
        error="malformed: bad envelope",
        deliveries=1,
    )
    assert ops.main(["dlq"]) == 0
    listing = capsys.readouterr().out
    assert f"orders/{entry_id}" in listing and "group=email" in listing and "malformed" in listing

    [letter] = list_dead_letters(environment)
    dlq_id = letter.dlq_id
    assert ops.main(["retry", dlq_id]) == 0
    assert environment.xlen(DLQ_STREAM) == 0
    assert environment.xlen("orders") == 2
    assert ops.main(["retry", dlq_id]) == 1


def test_status_shows_which_group_holds_trimming_back_and_by_how_much(
    environment: redis.Redis, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAM_KEEP_S", "0")
    environment.xgroup_create("orders", "email", id="0", mkstream=True)
    environment.xgroup_create("orders", "payments", id="0")
    for _ in range(3):
        environment.xadd("orders", {b"type": b"order.placed", b"event": b"{}"})
    environment.xreadgroup("payments", "c1", {"orders": ">"})  # payments read all, acked nothing

    assert ops.main(["status"]) == 0

    out = capsys.readouterr().out
    assert "group email holds 3 entries" in out and "last delivered" in out
    assert "group payments holds 3 entries" in out and "oldest pending" in out


def test_trim_dry_run_shows_what_would_go_and_why_and_trims_nothing(
    environment: redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.xgroup_create("orders", "email", id="0", mkstream=True)
    for _ in range(4):
        environment.xadd("orders", {b"type": b"order.placed", b"event": b"{}"})
    environment.xreadgroup("email", "c1", {"orders": ">"}, count=3)
    first_three = cast(list[tuple[bytes, Any]], environment.xrange("orders", count=3))
    environment.xack("orders", "email", *[entry_id for entry_id, _ in first_three])

    assert ops.main(["trim", "--dry-run", "--keep-s", "0"]) == 0
    out = capsys.readouterr().out
    assert "orders: 3 of 4 entries would go (held back by group email (last delivered" in out
    assert environment.xlen("orders") == 4

    assert ops.main(["trim", "--keep-s", "0"]) == 0
    assert "orders: trimmed 3 of 4 entries" in capsys.readouterr().out
    assert environment.xlen("orders") == 1


def test_the_dead_letter_stream_is_trimmed_only_when_the_operator_asks(
    environment: redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.xadd(DLQ_STREAM, {b"stream": b"orders", b"entry_id": b"1-0", b"group": b"email", b"error": b"x"})

    assert ops.main(["trim", "--keep-s", "0"]) == 0
    assert environment.xlen(DLQ_STREAM) == 1

    assert ops.main(["trim", "--dlq", "--keep-s", "0"]) == 0
    assert "dlq: trimmed 1 of 1 entries" in capsys.readouterr().out
    assert environment.xlen(DLQ_STREAM) == 0


def test_a_dead_letter_past_the_redrive_window_is_not_retried(
    environment: redis.Redis, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLQ_REDRIVE_S", "60")
    seconds, _ = environment.time()
    old = f"{(seconds - 3600) * 1000}-0"  # first published an hour ago
    environment.xadd("orders", {b"type": b"order.placed", b"event": b"{}"}, id=old)
    environment.xgroup_create("orders", "email", id="0")
    environment.xreadgroup("email", "c1", {"orders": ">"})
    dead_letter(
        environment,
        stream="orders",
        entry_id=old,
        group="email",
        fields={b"type": b"order.placed", b"event": b"{}"},
        error="boom",
        deliveries=5,
    )
    [letter] = list_dead_letters(environment)

    assert ops.main(["retry", letter.dlq_id]) == 1

    assert "past the 60 s redrive window" in capsys.readouterr().err
    assert environment.xlen(DLQ_STREAM) == 1 and environment.xlen("orders") == 1
