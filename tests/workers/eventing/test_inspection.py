"""What operators see of streams and groups: lengths, ends, trim point, lag, pending, consumers."""

from __future__ import annotations

from tests.workers.eventing.support import GROUP, Events, Node, add_to_stream, new_envelope
from workers.eventing.inspection import id_ms, server_ms, stream_figures


def test_a_stream_shows_its_length_ends_and_each_groups_lag_and_pending(sqlite_node: Node, events: Events) -> None:
    node = sqlite_node
    node.consumer()  # creates the group at the start of the stream
    ids = [add_to_stream(node.client, events.registry, new_envelope(events.happened(n=n))) for n in range(4)]
    node.client.xreadgroup(GROUP, "reader-1", {events.stream: ">"}, count=1)

    [stream] = stream_figures(node.client, [events.stream, "no-such-stream"])

    assert (stream.name, stream.length, stream.first_id, stream.last_id) == (events.stream, 4, ids[0], ids[-1])
    assert (stream.removed, stream.trimmed_before) == (0, None)
    [group] = stream.groups
    assert (group.name, group.lag, group.pending, group.last_delivered_id) == (GROUP, 3, 1, ids[0])
    assert group.oldest_pending_ms is not None and group.oldest_pending_ms >= 0
    assert {c.name: c.pending for c in group.consumers} == {"reader-1": 1}


def test_a_trimmed_stream_shows_where_it_was_trimmed(sqlite_node: Node, events: Events) -> None:
    node = sqlite_node
    ids = [add_to_stream(node.client, events.registry, new_envelope(events.happened(n=n))) for n in range(5)]

    node.client.xtrim(events.stream, minid=ids[2], approximate=False)

    [stream] = stream_figures(node.client, [events.stream])
    assert (stream.length, stream.removed, stream.trimmed_before, stream.first_id) == (3, 2, ids[2], ids[2])


def test_an_idle_group_has_no_oldest_pending_entry(sqlite_node: Node, events: Events) -> None:
    node = sqlite_node
    node.consumer()

    [stream] = stream_figures(node.client, [events.stream])

    assert [(g.pending, g.oldest_pending_ms, g.lag) for g in stream.groups] == [(0, None, 0)]


def test_ages_are_on_redis_clock_the_one_that_stamps_entry_ids(sqlite_node: Node, events: Events) -> None:
    before = server_ms(sqlite_node.client)
    entry_id = add_to_stream(sqlite_node.client, events.registry, new_envelope(events.happened(n=1)))

    assert id_ms(entry_id) >= before
