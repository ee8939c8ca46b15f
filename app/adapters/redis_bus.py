"""The Redis signal bus: XADD to the stream (the record) and PUBLISH on the channel (a hint),
in one round trip (a Lua script). Every call is bounded by `timeout_s`; redis-py's own retries
are off so the bound holds (the egress retries, in order, instead)."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from app.adapters.keys import seq_of, stream_id
from app.bus_names import STREAM_FIELD

# KEYS[1] the stream; ARGV: entry id, message, approximate max length, channel.
# Returns 1 when added and published, 0 when the stream already held this id.
_PUBLISH_ONCE = f"""
local added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], ARGV[1], '{STREAM_FIELD}',
                          ARGV[2])
if type(added) == 'table' and added.err then
  if string.find(added.err, 'equal or smaller') then return 0 end
  return redis.error_reply(added.err)
end
redis.call('PUBLISH', ARGV[4], ARGV[2])
return 1
"""


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
        self._publish = self.client.register_script(_PUBLISH_ONCE)

    async def start(self) -> None:
        return None

    async def publish(self, seq: int, message: bytes) -> None:
        """XADD with the seq as entry id, then PUBLISH — in one Lua script, one round trip. A
        stream that already holds this seq (a retry after a timeout that did land) is success
        and publishes nothing again: exactly once in the stream and on the channel."""
        await asyncio.wait_for(
            self._publish(keys=[self.stream],
                          args=[stream_id(seq), message, self.maxlen, self.channel]),
            self.timeout_s,
        )

    async def publish_many(self, items: list[tuple[int, bytes]]) -> None:
        """`publish` of several signals, in seq order, pipelined: one round trip. A failure
        part-way leaves a prefix published; the retry finds those in the stream (0)."""
        pipe = self.client.pipeline(transaction=False)
        for seq, message in items:
            await self._publish(keys=[self.stream],
                                args=[stream_id(seq), message, self.maxlen, self.channel],
                                client=pipe)
        await asyncio.wait_for(pipe.execute(), self.timeout_s)

    async def last_seq(self) -> int | None:
        entries = await asyncio.wait_for(
            self.client.xrevrange(self.stream, count=1), self.timeout_s
        )
        if not entries:
            return None
        entry_id = entries[0][0]
        assert entry_id is not None  # redis-py's type allows None; XREVRANGE ids never are
        return seq_of(entry_id)

    async def problem(self) -> str | None:
        try:
            await asyncio.wait_for(self.client.ping(), self.timeout_s)
        except (RedisError, OSError, TimeoutError) as exc:
            return f"redis unreachable: {type(exc).__name__}"
        return None

    async def close(self) -> None:
        await self.client.aclose()


