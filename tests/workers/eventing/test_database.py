"""A service's database: bookkeeping commits without the fsync, every other commit with it, and writers taking turns."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from tests.workers.eventing.support import Node
from workers.eventing.database import Busy, Database, Turns


def test_a_transaction_that_need_not_be_durable_commits_and_leaves_the_next_ones_durable(sqlite_node: Node) -> None:
    db = sqlite_node.db
    with db.transaction(durable=False) as conn:
        conn.execute(insert(sqlite_node.things).values(id="thing-1", version=1))
        assert conn.scalar(text("PRAGMA synchronous")) == 1  # NORMAL: no fsync at this commit

    with db.transaction() as conn:
        assert conn.scalar(text("PRAGMA synchronous")) == 2  # FULL again, on the same pooled connection
        assert conn.scalar(select(func.count()).select_from(sqlite_node.things)) == 1


def test_threads_of_one_process_all_get_their_turn_to_write(tmp_path: Path) -> None:
    # SQLite's busy handler polls with growing sleeps: many threads polling one file let
    # some of them lose every race until the timeout (a 64-client checkout burst did).
    # Taking turns on a lock first, every writer gets in well within a short timeout.
    # 32 writers in line, each holding the file ~2 ms: a fair line is through in well under
    # the timeout even on a loaded machine; no fsync, so the disk adds no variance.
    db = Database(f"sqlite:///{tmp_path / 'turns.db'}", busy_timeout_ms=2_000)
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE rows (id INTEGER PRIMARY KEY, thread INTEGER)"))
    failures: list[BaseException] = []

    def writer(thread: int) -> None:
        for _ in range(25):
            try:
                with db.transaction(durable=False) as conn:
                    conn.execute(text("INSERT INTO rows (thread) VALUES (:t)"), {"t": thread})
                    time.sleep(0.002)  # a transaction that takes a moment, as a checkout's does
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with db.snapshot() as conn:
        assert conn.scalar(text("SELECT count(*) FROM rows")) == 32 * 25


def test_turns_are_handed_on_in_the_order_they_were_asked_for() -> None:
    turns, order = Turns(), []
    assert turns.acquire(timeout=1)

    def wait_for_turn(name: str) -> None:
        assert turns.acquire(timeout=10)
        order.append(name)
        turns.release()

    threads = []
    for n, name in enumerate("abcdefgh", start=1):
        threads.append(threading.Thread(target=wait_for_turn, args=(name,)))
        threads[-1].start()
        while turns.waiting < n:  # each in line before the next one asks
            time.sleep(0.001)
    turns.release()
    for thread in threads:
        thread.join()
    assert order == list("abcdefgh")


def test_a_turn_not_given_in_time_leaves_the_line() -> None:
    turns = Turns()
    assert turns.acquire(timeout=1)
    assert not turns.acquire(timeout=0.05)
    assert turns.waiting == 0
    turns.release()
    assert turns.acquire(timeout=0.05)  # free again: nobody left in line holds it


def test_a_write_that_waits_out_the_busy_timeout_raises_busy_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    db = Database(f"sqlite:///{path}", busy_timeout_ms=200)
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE rows (id INTEGER PRIMARY KEY)"))
    other_process = sqlite3.connect(path, isolation_level=None)  # another process's writer
    other_process.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Busy), db.transaction() as conn:
            conn.execute(text("INSERT INTO rows DEFAULT VALUES"))
    finally:
        other_process.execute("ROLLBACK")
        other_process.close()
    with db.transaction() as conn:  # the turn was given back: the next write goes in
        conn.execute(text("INSERT INTO rows DEFAULT VALUES"))
    with db.snapshot() as conn:
        assert conn.scalar(text("SELECT count(*) FROM rows")) == 1
