"""Event ids are UUIDv7: unique, and sorting them sorts events by creation time."""

from __future__ import annotations

import threading
import time
import uuid

from workers.eventing.ids import uuid7


def test_ids_from_one_thread_strictly_increase() -> None:
    ids = [uuid7() for _ in range(20_000)]  # thousands per millisecond: the counter path too
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_an_id_is_a_version_7_rfc_uuid_carrying_its_creation_time() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid.UUID(uuid7())
    after = time.time_ns() // 1_000_000
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    # A burst above may have borrowed a few milliseconds ahead; never more than that.
    assert before <= value.int >> 80 <= after + 10


def test_ids_from_many_threads_are_unique_and_each_threads_are_ordered() -> None:
    results: list[list[str]] = [[] for _ in range(4)]

    def make(into: list[str]) -> None:
        into.extend(uuid7() for _ in range(5_000))

    threads = [threading.Thread(target=make, args=(into,)) for into in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(ids == sorted(ids) for ids in results)
    assert len({i for ids in results for i in ids}) == 20_000
