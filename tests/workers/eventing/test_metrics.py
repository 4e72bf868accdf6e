"""The backbone's metrics: handled, failed and dead-lettered events per group and type, batches, the relay."""

from __future__ import annotations

from prometheus_client import REGISTRY

from tests.workers.eventing.support import GROUP, Events, Node, add_to_stream, failing, new_envelope, record_effect
from workers.eventing.metrics import metrics_port
from workers.eventing.settings import Settings


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_handled_events_are_counted_per_group_and_type_with_the_batch(sqlite_node: Node, events: Events) -> None:
    consumer = sqlite_node.consumer()
    labels = {"group": GROUP, "type": events.happened.TYPE}
    handled, batches = sample("events_handled_total", **labels), sample("consumer_batch_size_count", group=GROUP)
    for n in range(3):
        add_to_stream(sqlite_node.client, events.registry, new_envelope(events.happened(n=n)))

    for _ in range(3):  # its own pending list first (empty), then the new entries
        consumer.step()

    assert sample("events_handled_total", **labels) == handled + 3
    assert sample("consumer_batch_size_count", group=GROUP) > batches
    assert sample("consumer_handler_seconds_count", group=GROUP) > 0


def test_failures_and_dead_letters_are_counted(sqlite_node: Node, events: Events) -> None:
    handler, _calls = failing(times=100, then=record_effect(sqlite_node.effects, "never"))
    consumer = sqlite_node.consumer({events.happened.TYPE: handler}, max_deliveries=2, retry_delay_s=0.0)
    labels = {"group": GROUP, "type": events.happened.TYPE}
    failed, dead = sample("events_failed_total", **labels), sample("events_dead_lettered_total", **labels)
    add_to_stream(sqlite_node.client, events.registry, new_envelope(events.happened(n=1)))

    for _ in range(10):
        consumer.step()
        if sample("events_dead_lettered_total", **labels) > dead:
            break

    assert sample("events_failed_total", **labels) >= failed + 2
    assert sample("events_dead_lettered_total", **labels) == dead + 1


def test_the_relay_counts_what_it_published(sqlite_node: Node) -> None:
    published = sample("relay_published_total", service=sqlite_node.name)
    sqlite_node.publish(1, 2)

    sqlite_node.relay().drain()

    assert sample("relay_published_total", service=sqlite_node.name) == published + 2
    assert sample("relay_publish_seconds_count", service=sqlite_node.name) >= 1


def test_a_process_serves_metrics_on_its_own_port_or_the_shared_one() -> None:
    settings = Settings.from_env({"ORDERS_METRICS_PORT": "9102", "METRICS_PORT": "9100"})

    assert metrics_port(settings, "orders") == 9102
    assert metrics_port(settings, "email") == 9100
    assert metrics_port(Settings.from_env({}), "orders") == 0
