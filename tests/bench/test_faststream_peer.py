"""The FastStream peer of the backbone benchmark applies each event once, in both of its modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import backbone
from bench.durable import INPUT_STREAM
from tests.support.redis_server import RedisServer

pytest.importorskip("faststream", reason="FastStream is in the optional bench dependencies (make bench, make lint)")


@pytest.mark.parametrize("batch", [True, False], ids=["batch", "default"])
def test_the_faststream_peer_applies_every_timed_event_once_and_acks_it(
    redis_server: RedisServer, tmp_path: Path, batch: bool
) -> None:
    with redis_server.client() as client:
        backbone.preload(client, 300)
        timed = 300 if batch else 30  # the default mode is timed on a prefix and leaves the rest unhandled
        figure = backbone.time_faststream(client, redis_server.url, tmp_path, "peer", timed, batch=batch)
        # time_faststream checks the effects itself: every counter update, inbox and outbox row once.
        assert figure.events == timed
        if not batch:
            first_unhandled = client.xrange(INPUT_STREAM, count=timed + 1)[-1][0]
            pending = client.xpending_range(INPUT_STREAM, "peer", min="-", max="+", count=1_000)
            assert all(entry_key(entry["message_id"]) >= entry_key(first_unhandled) for entry in pending)


def entry_key(entry_id: bytes) -> tuple[int, int]:
    """A stream id as numbers: ``b"17-10"`` comes after ``b"17-9"``, which byte order gets wrong."""
    milliseconds, _, sequence = entry_id.partition(b"-")
    return int(milliseconds), int(sequence)
