"""The operator commands print lag, backlog and dead letters, and retry a dead letter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from workers.eventing import ops
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
