"""Processes killed with SIGKILL at the worst moments: effects stay single, nothing is lost."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from tests.support import launch
from tests.support.waiting import wait_until
from tests.workers.eventing.programs.worker import NAME as WORKER_GROUP
from tests.workers.eventing.support import Events, Node, add_to_stream, caught_up, new_envelope, pending_count, running
from tests.workers.eventing.support import stream_event_ids as on_stream

ROOT = Path(__file__).resolve().parents[3]
DEADLINE_S = 30.0


class Program:
    """A test program run as its own process from the repository root, its output in ``log``."""

    def __init__(self, module: str, env: dict[str, str], log: Path) -> None:
        self.log = log
        argv = [sys.executable, "-m", f"tests.workers.eventing.programs.{module}"]
        self.process = launch.start(argv, cwd=ROOT, env={**os.environ, **env}, log=log)

    def wait_for_exit(self) -> tuple[int, str]:
        code = self.process.wait(timeout=DEADLINE_S)
        return code, self.log.read_text(errors="replace")

    def stop(self) -> str:
        """SIGTERM (the runner finishes its batch and returns), then its output."""
        self.process.terminate()
        return self.wait_for_exit()[1]

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=DEADLINE_S)


class Programs:
    """The programs a test started, each with a log of its own; killed when the test ends."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[Program] = []

    def start(self, module: str, env: dict[str, str]) -> Program:
        program = Program(module, env, self.log_dir / f"{module}.{len(self.started)}.log")
        self.started.append(program)
        return program


@pytest.fixture
def programs(tmp_path: Path) -> Iterator[Programs]:
    started = Programs(tmp_path)
    yield started
    for program in started.started:
        program.kill()


def _worker(programs: Programs, redis_url: str, database_url: str, unique: str, **env: str) -> Program:
    settings = {
        "REDIS_URL": redis_url,
        "PROBE_DATABASE_URL": database_url,
        "UNIQUE": unique,
        "CONSUMER_NAME": "probe-1",
        "CLAIM_IDLE_MS": "30000",
        "DIE": "",
    }
    return programs.start("worker", {**settings, **env})


def _consumer_pending(node: Node, stream: str, consumer: str) -> int:
    consumers = node.client.xinfo_consumers(stream, WORKER_GROUP)
    return sum(int(c["pending"]) for c in consumers if c["name"] in (consumer, consumer.encode()))


def test_a_consumer_killed_after_its_commit_and_before_xack_reads_the_event_back_and_applies_it_once(
    programs: Programs, database_url: str, redis_url: str, events: Events, unique: str
) -> None:
    node = Node(WORKER_GROUP, database_url, redis_url, events)
    envelopes = [new_envelope(events.happened(n=n)) for n in (1, 2, 3)]
    for envelope in envelopes:
        add_to_stream(node.client, events.registry, envelope)

    doomed = _worker(programs, redis_url, database_url, unique, DIE="after_commit")
    code, output = doomed.wait_for_exit()
    assert code == -signal.SIGKILL, output
    # Committed (effects and inbox rows are there) but never acknowledged:
    assert node.effect_counts() == {envelope.id: 1 for envelope in envelopes}
    assert _consumer_pending(node, events.stream, "probe-1") == 3

    restarted = _worker(programs, redis_url, database_url, unique)
    wait_until(lambda: pending_count(node.client, events.stream, WORKER_GROUP) == 0, DEADLINE_S, "pending list drained")
    # What the crashed transaction published goes out too: its relay restarted with it.
    wait_until(lambda: {e.n for e in _followed(node)} == {1, 2, 3}, DEADLINE_S, "outbox of the crashed run relayed")
    output = restarted.stop()

    assert node.effect_counts() == {envelope.id: 1 for envelope in envelopes}
    assert output.count("duplicate test.happened") == 3, output  # read back from its pending list, skipped
    node.close()


def _followed(node: Node) -> list[Any]:
    stream = node.events.followed.STREAM
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], node.client.xrange(stream))
    return [node.events.registry.decode(stream, entry_id.decode(), fields).data for entry_id, fields in entries]


def test_pending_entries_of_a_consumer_that_died_for_good_are_taken_over_after_the_idle_time(
    programs: Programs, sqlite_url: str, redis_url: str, events: Events, unique: str
) -> None:
    node = Node(WORKER_GROUP, sqlite_url, redis_url, events)
    envelopes = [new_envelope(events.happened(n=n)) for n in range(5)]
    for envelope in envelopes:
        add_to_stream(node.client, events.registry, envelope)

    doomed = _worker(programs, redis_url, sqlite_url, unique, DIE="in_handler", CONSUMER_NAME="probe-dead")
    code, output = doomed.wait_for_exit()
    assert code == -signal.SIGKILL, output
    assert node.effect_counts() == {}
    assert _consumer_pending(node, events.stream, "probe-dead") == 5

    heir = node.consumer(group=WORKER_GROUP, name="probe-heir", claim_idle_ms=300)
    with running(heir):
        wait_until(lambda: pending_count(node.client, events.stream, WORKER_GROUP) == 0, DEADLINE_S, "taken over")

    assert node.effect_counts() == {envelope.id: 1 for envelope in envelopes}
    assert _consumer_pending(node, events.stream, "probe-dead") == 0
    node.close()


def test_a_relay_killed_between_xadd_and_marking_sent_publishes_twice_and_the_effect_happens_once(
    programs: Programs, database_url: str, redis_url: str, events: Events, unique: str
) -> None:
    producer = Node("producer", database_url, redis_url, events)
    consumer_node = Node("consumer", database_url, redis_url, events)  # one database is enough here
    consumer = consumer_node.consumer()  # its group exists before anything is published
    (envelope,) = producer.publish(1)

    relay = programs.start(
        "relay_dies_before_marking_sent", {"REDIS_URL": redis_url, "DATABASE_URL": database_url, "UNIQUE": unique}
    )
    code, output = relay.wait_for_exit()
    assert code == -signal.SIGKILL, output
    assert on_stream(producer.client, events.stream) == [envelope.id]
    assert producer.outbox.backlog() == 1  # XADD done, row not marked sent

    successor = producer.relay()  # takes over once the dead relay's lease expires
    wait_until(lambda: successor.drain() or producer.outbox.backlog() == 0, DEADLINE_S, "outbox relayed again")
    assert on_stream(producer.client, events.stream) == [envelope.id, envelope.id]

    with running(consumer):
        wait_until(lambda: caught_up(consumer_node.client, events.stream), DEADLINE_S, "both copies read and acked")
    assert consumer_node.effect_counts() == {envelope.id: 1}
    producer.close()
    consumer_node.close()
