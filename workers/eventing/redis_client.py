"""Redis clients for the backbone, built at start-up and passed in (never at import).

``connect`` (synchronous) and ``connect_async`` are the only places a backbone client is
made, for a plain URL or for a primary found through Sentinel (``RedisTarget``). Their
clients' pipelines confirm what they publish: with ``wait_replicas`` set, a pipeline
that ``XADD``s ends with ``WAIT <replicas> <timeout>`` on the same connection and
raises ``NotReplicated`` when fewer replicas hold its writes. Every publisher (the
relay, a consumer publishing with its ``XACK``, the gateway after its commit) marks
outbox rows sent only after its pipeline returned, so a row is marked sent only once
a replica has it: Redis replicates asynchronously, and a primary that dies before its
replica has an entry loses it, however promptly it acknowledged the ``XADD``. Rows
whose pipeline failed stay unsent and go out again (after a failover, to the new
primary); the consumers' inboxes absorb the copies.

Transactional pipelines (``MULTI``/``EXEC``, as the dead-letter moves use) are left
alone: ``WAIT`` cannot run inside a transaction, and what they write is re-derived
from the pending entry they acknowledge in the same transaction.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

import redis
import redis.asyncio as aioredis
import redis.asyncio.client as async_client
import redis.asyncio.sentinel as async_sentinel
import redis.client as sync_client
import redis.sentinel as sync_sentinel
from redis.connection import parse_url

from workers.eventing.settings import RedisTarget


class NotReplicated(redis.RedisError):
    """Fewer replicas than required confirmed a publish within the timeout."""


# Errors after which a reader or the relay waits and tries again: Redis is away,
# restarting, still loading its AOF, failing over, or its replica is not answering.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.BusyLoadingError,
    redis.ReadOnlyError,
    NotReplicated,
)

# Blocking reads must return well before the socket timeout (redis-py 8 defaults to
# 5 s), or a quiet stream would look like a dead connection.
SOCKET_TIMEOUT_S = 5.0
BLOCK_MS = 1_000
CONNECT_TIMEOUT_S = 2.0
# A sentinel that does not answer quickly is skipped for the next one.
SENTINEL_TIMEOUT_S = 0.5


def _confirm_wait(pipe: Any, target: RedisTarget) -> bool:
    """Queue ``WAIT`` on ``pipe`` if it publishes and replicas are required; True if queued."""
    # The sync pipeline calls it ``transaction``; on the asyncio one that is a method,
    # and the flag is ``is_transaction``.
    transactional = pipe.is_transaction if hasattr(pipe, "is_transaction") else pipe.transaction
    if not target.wait_replicas or transactional or pipe.explicit_transaction:
        return False
    if not any(str(args[0]).upper() == "XADD" for args, _options in pipe.command_stack):
        return False
    pipe.execute_command("WAIT", target.wait_replicas, target.wait_timeout_ms)
    return True


def _check_wait(results: list[Any], target: RedisTarget) -> list[Any]:
    confirmed = results.pop()
    if isinstance(confirmed, Exception):  # execute(raise_on_error=False) hands errors back
        raise NotReplicated(f"WAIT failed: {confirmed}") from confirmed
    if int(confirmed) < target.wait_replicas:
        raise NotReplicated(
            f"{confirmed} of {target.wait_replicas} replicas confirmed within {target.wait_timeout_ms} ms"
        )
    return results


class ConfirmingPipeline(sync_client.Pipeline):
    """A pipeline whose ``XADD``s count only once enough replicas hold them."""

    target = RedisTarget(url="")

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        if not _confirm_wait(self, self.target):
            return super().execute(raise_on_error)
        return _check_wait(super().execute(raise_on_error), self.target)


class BackboneRedis(redis.Redis):
    """A synchronous client whose pipelines are ``ConfirmingPipeline``s."""

    target = RedisTarget(url="")
    sentinel_manager: sync_sentinel.Sentinel | None = None

    def close(self) -> None:
        """Close the client and, through Sentinel, its connections to the sentinels."""
        super().close()
        for client in self.sentinel_manager.sentinels if self.sentinel_manager else []:
            client.close()

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> ConfirmingPipeline:
        pipe = ConfirmingPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)
        pipe.target = self.target
        return pipe


class AsyncConfirmingPipeline(async_client.Pipeline):
    """The asyncio twin of ``ConfirmingPipeline``."""

    target = RedisTarget(url="")

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        if not _confirm_wait(self, self.target):
            return await super().execute(raise_on_error)
        return _check_wait(await super().execute(raise_on_error), self.target)


class AsyncBackboneRedis(aioredis.Redis):
    """An asyncio client whose pipelines are ``AsyncConfirmingPipeline``s."""

    target = RedisTarget(url="")
    sentinel_manager: async_sentinel.Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        """Close the client and, through Sentinel, its connections to the sentinels."""
        await super().aclose(close_connection_pool)
        for client in self.sentinel_manager.sentinels if self.sentinel_manager else []:
            await client.aclose()

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> AsyncConfirmingPipeline:
        pipe = AsyncConfirmingPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)
        pipe.target = self.target
        return pipe


C = TypeVar("C", "BackboneRedis", "AsyncBackboneRedis")


def _as_target(target: str | RedisTarget) -> RedisTarget:
    return RedisTarget(url=target) if isinstance(target, str) else target


def _server_options(target: RedisTarget) -> dict[str, Any]:
    """The URL's database and credentials, which hold for a primary found through Sentinel too."""
    parsed: dict[str, Any] = parse_url(target.url) if target.url else {}  # type: ignore[no-untyped-call]
    return {key: parsed[key] for key in ("db", "username", "password") if parsed.get(key) is not None}


def connect(target: str | RedisTarget) -> BackboneRedis:
    """A synchronous client with the backbone's timeouts, for a URL or through Sentinel."""
    timeouts: dict[str, Any] = {
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "health_check_interval": 30,
    }
    return _client(_as_target(target), sync_sentinel.Sentinel, BackboneRedis, timeouts)


def connect_async(target: str | RedisTarget) -> AsyncBackboneRedis:
    """An asyncio client with the backbone's timeouts, for a URL or through Sentinel."""
    timeouts: dict[str, Any] = {"socket_timeout": SOCKET_TIMEOUT_S, "socket_connect_timeout": 1.0}
    return _client(_as_target(target), async_sentinel.Sentinel, AsyncBackboneRedis, timeouts)


def _client(target: RedisTarget, sentinel_class: Any, redis_class: type[C], timeouts: dict[str, Any]) -> C:
    """A ``redis_class`` client of the server at ``target``'s URL, or of the primary its sentinels name."""
    if target.sentinels:
        sentinel = sentinel_class(
            list(target.sentinels),
            sentinel_kwargs={"socket_timeout": SENTINEL_TIMEOUT_S, "socket_connect_timeout": SENTINEL_TIMEOUT_S},
        )
        found = sentinel.master_for(target.master, redis_class=redis_class, **timeouts, **_server_options(target))
        client = cast(C, found)
        client.sentinel_manager = sentinel
    else:
        client = cast(C, redis_class.from_url(target.url, **timeouts))
    client.target = target
    return client


def as_text(value: bytes | str) -> str:
    """A name or id from a Redis reply, which is bytes or str depending on the client's ``decode_responses``."""
    return value.decode() if isinstance(value, bytes) else value
