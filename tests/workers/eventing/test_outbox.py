"""The transactional outbox: events are committed with the state they describe, or not at all."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from pydantic import ValidationError
from sqlalchemy import Connection, func, insert, select

from tests.workers.eventing.support import Events, Node, new_envelope
from workers.eventing import EventData, UnknownEventType
from workers.eventing.registry import Received


def _things(node: Node) -> list[str]:
    with node.db.snapshot() as conn:
        return list(conn.scalars(select(node.things.c.id)))


def _outbox_rows(node: Node) -> int:
    with node.db.snapshot() as conn:
        return int(conn.scalar(select(func.count()).select_from(node.outbox.table)) or 0)


def test_an_event_is_committed_with_the_state_it_describes(node: Node, events: Events) -> None:
    with node.outbox.unit_of_work() as uow:
        uow.conn.execute(insert(node.things).values(id="thing-1", version=1))
        envelope = uow.publish(events.happened(n=1), aggregate_id="thing-1", aggregate_version=1)

    assert _things(node) == ["thing-1"]
    assert node.outbox.backlog() == 1
    with node.db.snapshot() as conn:
        (row,) = node.outbox.unsent(conn, limit=10)
    assert (row.stream, row.event_type) == (events.stream, "test.happened")
    decoded = events.registry.decode(events.stream, "1-0", {b"event": row.payload.encode()}).envelope
    assert decoded.model_dump(mode="json") == envelope.envelope().model_dump(mode="json")


def test_an_exception_between_the_state_write_and_the_commit_leaves_neither(node: Node, events: Events) -> None:
    with pytest.raises(RuntimeError, match="before the commit"), node.outbox.unit_of_work() as uow:
        uow.conn.execute(insert(node.things).values(id="thing-1", version=1))
        uow.publish(events.happened(n=1), aggregate_id="thing-1", aggregate_version=1)
        raise RuntimeError("failed before the commit")

    assert _things(node) == []
    assert _outbox_rows(node) == 0


class Unregistered(EventData):
    TYPE: ClassVar[str] = "test.unregistered"
    STREAM: ClassVar[str] = "nowhere"


def test_an_event_of_an_unregistered_type_rolls_the_state_back(node: Node) -> None:
    with pytest.raises(UnknownEventType), node.outbox.unit_of_work() as uow:
        uow.conn.execute(insert(node.things).values(id="thing-1", version=1))
        uow.publish(Unregistered(), aggregate_id="thing-1", aggregate_version=1)

    assert _things(node) == []
    assert _outbox_rows(node) == 0


class LooseHappened(EventData):
    """A look-alike of ``test.happened`` that lets through what its registered model refuses."""

    TYPE: ClassVar[str] = "test.happened"
    STREAM: ClassVar[str] = "nowhere"

    n: str


@pytest.mark.parametrize("build", ["unvalidated", "look-alike"])
def test_an_event_that_breaks_its_contract_raises_at_publish_and_nothing_is_written(
    node: Node, events: Events, build: str
) -> None:
    seven: Any = "seven"
    data = events.happened.model_construct(n=seven) if build == "unvalidated" else LooseHappened(n=seven)
    with pytest.raises(ValidationError, match="n"), node.outbox.unit_of_work() as uow:
        uow.conn.execute(insert(node.things).values(id="thing-1", version=1))
        uow.publish(data, aggregate_id="thing-1", aggregate_version=1)

    assert _things(node) == []
    assert _outbox_rows(node) == 0


def test_the_relay_is_woken_only_by_commits_that_published(node: Node, events: Events) -> None:
    wake_ups: list[str] = []
    node.outbox.on_commit(lambda: wake_ups.append("woken"))

    with node.outbox.unit_of_work() as uow:
        uow.conn.execute(insert(node.things).values(id="thing-1", version=1))
    assert wake_ups == []
    node.publish(1, 2)
    assert wake_ups == ["woken"]
    with pytest.raises(RuntimeError), node.outbox.unit_of_work() as uow:
        uow.publish(events.happened(n=3), aggregate_id="thing-1", aggregate_version=3)
        raise RuntimeError("rolled back")
    assert wake_ups == ["woken"]


def test_correlation_and_causation_follow_the_event_being_handled(node: Node, events: Events) -> None:
    cause_envelope = new_envelope(events.happened(n=1)).model_copy(update={"correlation_id": "order-9"})
    cause = Received(envelope=cause_envelope, data=events.happened(n=1), stream=events.stream, entry_id="1-0")

    with node.outbox.unit_of_work(cause=cause) as uow:
        followed = uow.publish(events.followed(n=1), aggregate_id="thing-2", aggregate_version=1)
        explicit = uow.publish(events.followed(n=2), aggregate_id="thing-2", aggregate_version=2, correlation_id="x")
    with node.outbox.unit_of_work() as uow:
        spontaneous = uow.publish(events.happened(n=3), aggregate_id="thing-3", aggregate_version=1)

    assert (followed.correlation_id, followed.causation_id) == ("order-9", cause_envelope.id)
    assert (explicit.correlation_id, explicit.causation_id) == ("x", cause_envelope.id)
    assert (spontaneous.correlation_id, spontaneous.causation_id) == ("thing-3", None)
    assert followed.source == "service"


def test_an_after_commit_callback_runs_once_its_transaction_committed_and_never_after_a_rollback(node: Node) -> None:
    calls: list[str] = []

    with pytest.raises(RuntimeError), node.outbox.unit_of_work() as uow:
        uow.after_commit(lambda: calls.append("rolled back"))
        raise RuntimeError("rolled back")
    with node.outbox.unit_of_work() as uow:
        uow.conn.execute(insert(node.things).values(id="thing-1", version=1))
        uow.after_commit(lambda: calls.append(f"committed {_things(node)}"))
        assert calls == []

    assert calls == ["committed ['thing-1']"]


def test_what_a_transaction_gathers_is_written_once_inside_it_and_not_at_all_after_a_rollback(node: Node) -> None:
    flushes: list[list[str]] = []

    def write_furthest(conn: Connection, ids: list[str]) -> None:
        flushes.append(list(ids))
        conn.execute(insert(node.things).values(id=max(ids), version=len(ids)))

    with node.outbox.unit_of_work() as uow:
        for n in (3, 1, 2):
            uow.gather("furthest", list, write_furthest).append(f"thing-{n}")
    assert flushes == [["thing-3", "thing-1", "thing-2"]]  # one write for the three
    assert _things(node) == ["thing-3"]

    with pytest.raises(RuntimeError), node.outbox.unit_of_work() as uow:
        uow.gather("furthest", list, write_furthest).append("thing-9")
        raise RuntimeError("the handler failed")
    assert len(flushes) == 1 and _things(node) == ["thing-3"]
