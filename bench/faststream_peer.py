"""FastStream 0.7's Redis Streams subscriber as a peer of the backbone's worker, run as its own process.

    python -m bench.faststream_peer REDIS_URL DATABASE_URL GROUP EVENTS [--batch]

The same protocol as ``bench.worker``: it sets up (the broker connected, the subscriber
declared), prints ``ready``, waits for a line on stdin, starts the subscriber and
consumes the pre-loaded stream through GROUP until its first EVENTS events are applied
and acked, then prints one JSON line with its wall and CPU time. (The default mode is
slow enough to be timed on a prefix of the stream: past EVENTS its handler waits, so
nothing more is applied. In batch mode EVENTS must be the whole stream.)

Each message gets the same durable handler as the worker (``bench.durable.apply_durably``:
decode and validate with the registry, inbox check, row update, outbox row, inbox row, commit),
then FastStream acks it (``XACK`` after the handler, its default ack policy). The
default mode calls the handler once per message, so one transaction per event;
``--batch`` is ``StreamSub(batch=True)``, one call and one transaction per read. Both read
as many entries per ``XREADGROUP`` as the worker does. FastStream does not publish the
outbox rows (it has no relay): the worker it is compared with does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from typing import Any

import redis.asyncio as aioredis
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.annotations import RedisBatchStreamMessage, RedisStreamMessage

from bench.durable import INPUT_STREAM, METADATA, REGISTRY, apply_durably
from workers.eventing import ConsumerSettings, Database, Outbox, Received


async def main(argv: list[str]) -> None:
    redis_url, database_url, group, events = argv[0], argv[1], argv[2], int(argv[3])
    batch = "--batch" in argv[4:]
    logging.basicConfig(level=logging.WARNING)
    db = Database(database_url, METADATA)
    outbox = Outbox(db, "bench", REGISTRY)
    settings = ConsumerSettings()
    # Per-message log lines at DEBUG, as the worker's, through a logger of ours that the root
    # logger (WARNING, stderr) filters: FastStream's own would print INFO lines on stdout.
    logger = logging.getLogger("bench.faststream")
    # A short graceful timeout (default 15 s): stop() need not wait for the handler parked past the prefix.
    broker = RedisBroker(redis_url, logger=logger, log_level=logging.DEBUG, graceful_timeout=1.0)
    stream = StreamSub(
        INPUT_STREAM,
        group=group,
        consumer=f"faststream-{group}",
        batch=batch,
        max_records=settings.batch_size,
        polling_interval=settings.block_ms,
    )
    handled = 0
    done, never = asyncio.Event(), asyncio.Event()
    last_id = b""

    def decode(message_id: bytes, fields: dict[bytes, bytes]) -> Received[Any]:
        return REGISTRY.decode(INPUT_STREAM, message_id.decode(), fields)

    def applied(count: int, message_id: bytes) -> None:
        nonlocal handled, last_id
        handled += count
        if handled >= events:
            last_id = message_id
            done.set()

    if batch:

        @broker.subscriber(stream=stream)  # type: ignore[untyped-decorator]  # its overloads return Any
        async def handle_batch(message: RedisBatchStreamMessage) -> None:
            raw = message.raw_message
            work = [decode(i, fields) for i, fields in zip(raw["message_ids"], raw["data"], strict=True)]
            apply_durably(outbox, group, work)
            applied(len(work), raw["message_ids"][-1])

    else:

        @broker.subscriber(stream=stream)  # type: ignore[untyped-decorator]  # its overloads return Any
        async def handle_one(message: RedisStreamMessage) -> None:
            if handled >= events:
                await never.wait()  # past the timed prefix: leave it unhandled until the process stops
            raw = message.raw_message
            apply_durably(outbox, group, [decode(raw["message_ids"][0], raw["data"])])
            applied(1, raw["message_ids"][0])

    await broker.connect()
    client = aioredis.Redis.from_url(redis_url)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    started, cpu_started = time.perf_counter(), time.process_time()
    await broker.start()
    await done.wait()
    # FastStream acks after the handler returns: the run ends with the last XACK of the timed entries.
    while await client.xpending_range(INPUT_STREAM, group, min="-", max=last_id, count=1):
        await asyncio.sleep(0.001)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(json.dumps({"events": handled, "seconds": elapsed, "cpu_seconds": cpu}), flush=True)
    # Stopping cancels the handler waiting past the prefix, which FastStream logs as an error: not one here.
    logger.setLevel(logging.CRITICAL)
    await broker.stop()
    await client.aclose()
    db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
