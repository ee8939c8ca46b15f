"""The Redis signal bus: XADD to the stream (the record) and PUBLISH on the channel (a hint),
in one round trip. Every call is bounded by `timeout_s`; redis-py's own retries are off so
the bound holds (the outbox retries, in order, instead)."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

from app.adapters.keys import STREAM_FIELD, seq_of, stream_id


class RedisBus:
    name = "redis"

    def __init__(
        self,
        url: str,
        channel: str,
        stream: str,
        maxlen: int = 100_000,
        timeout_s: float = 0.25,
    ) -> None:
        self.url = url
        self.channel = channel
        self.stream = stream
        self.maxlen = maxlen
        self.timeout_s = timeout_s
        self.client = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
            health_check_interval=0,
        )

    async def start(self) -> None:
        return None

    async def publish(self, seq: int, message: bytes) -> None:
        """XADD with the seq as entry id, then PUBLISH. A stream that already holds this seq
        (a retry after a timeout that did land) counts as success: exactly once in the stream."""
        pipe = self.client.pipeline(transaction=False)
        pipe.xadd(self.stream, {STREAM_FIELD: message}, id=stream_id(seq),
                  maxlen=self.maxlen, approximate=True)
        pipe.publish(self.channel, message)
        results = await asyncio.wait_for(pipe.execute(raise_on_error=False), self.timeout_s)
        added = results[0]
        if isinstance(added, Exception) and not _already_in_stream(added):
            raise added
        if isinstance(results[1], Exception):
            raise results[1]

    async def last_seq(self) -> int | None:
        entries = await asyncio.wait_for(
            self.client.xrevrange(self.stream, count=1), self.timeout_s
        )
        if not entries:
            return None
        return seq_of(entries[0][0])

    async def problem(self) -> str | None:
        try:
            await asyncio.wait_for(self.client.ping(), self.timeout_s)
        except (RedisError, OSError, TimeoutError) as exc:
            return f"redis unreachable: {type(exc).__name__}"
        return None

    async def close(self) -> None:
        await self.client.aclose()


def _already_in_stream(exc: Exception) -> bool:
    return isinstance(exc, ResponseError) and "equal or smaller" in str(exc)
