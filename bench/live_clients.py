"""The client side of the live-push benchmark, run as its own process.

    python -m bench.live_clients <port> <sockets> <events> <redis-url>

Opens the sockets, prints "connected", waits for a line on stdin, then adds one
stock change at a time to the stream and times how long until every socket has it.
Prints the latencies (ms) as JSON.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

import redis
import uvloop

from bench.ws_client import Crowd
from workers.contracts import REGISTRY
from workers.contracts.stock import StockChanged, StockDelta
from workers.eventing import Envelope


def stock_change(n: int) -> Envelope:
    data = StockChanged(
        product_id=1,
        sku="BENCH-1",
        on_hand=1000 - n % 1000,
        reserved=0,
        available=1000 - n % 1000,
        delta=StockDelta(on_hand=-1, available=-1),
        cause="dispatch",
    )
    return Envelope.wrap(data, source="bench", aggregate_id="1", aggregate_version=n + 1, correlation_id="bench")


async def main(port: int, sockets: int, events: int, redis_url: str) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    crowd = Crowd()
    await crowd.connect("127.0.0.1", port, "/ws/stock", sockets)
    print("connected", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    client = redis.Redis.from_url(redis_url)
    latencies: list[float] = []
    for n in range(events):
        envelope = stock_change(n)
        done = crowd.watch(envelope.id.encode())
        started = time.perf_counter()
        client.xadd("stock", REGISTRY.encode(envelope))  # type: ignore[arg-type]
        finished = await asyncio.wait_for(done, 30)
        latencies.append((finished - started) * 1000)
        await asyncio.sleep(0.05)
    crowd.close()
    client.close()
    print(json.dumps({"latencies_ms": latencies}), flush=True)


if __name__ == "__main__":
    # uvloop: the client must be cheaper per message than the servers it measures.
    uvloop.run(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
