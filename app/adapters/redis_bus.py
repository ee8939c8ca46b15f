"""The Redis signal bus: XADD to the stream (the record) and PUBLISH on the channel (the
announcement), a whole batch in one Lua script — one round trip, one atomic step.

What a batch does (`_PUBLISH_BATCH`): each signal is XADDed with its seq as entry id, in
order; the script stops at the first XADD Redis refuses (OOM at `maxmemory`, a wrong type…)
and returns how many of the batch the stream holds, with Redis's reason. Nothing after a
refusal is added or published, so the stream is always seq 1..n without a gap, and the
egress's `published_seq` advances over exactly what the stream took. A seq the stream holds
already (a retry of a call whose answer was lost) counts as held and is not announced again.

What is announced: only a signal added now whose seq is above the caller's `refill_up_to` —
the highest seq that ever went on the channel. A refill (after Redis lost its data) goes to
the stream only.

A call that failed after it was sent (a timeout, a connection reset before the answer)
leaves its outcome unknown: if it ran, its signals are on the channel already. The next call
tells: the script reads Redis's `run_id`; on the same server the stream says whether they
landed (held: announced then; absent: never ran, announced now). On another server (a
restart, a failover) they might have been announced on the one that went away, so they are
treated as announced (stream only): a bot may miss that one batch on the channel — it is on
the stream — but never receives a signal twice. A call that failed before anything was sent
(no connection: Redis down, refusing, or its socket found closed) is not unknown: batches
sent to a Redis that is down are simply announced once it is back. Scripts go over a
connection pool of their own that notes whether a command got as far as a checked
connection; after a failure, a PING comes before the next batch, so batches do not pile up
in a Redis that is frozen.

A stream that ends before a batch with a gap between (Redis restarted empty between two
batches, and the next batch is the first thing the new one sees) takes nothing of it: the
script answers where the stream ends (`Delivery.ends_at`) and the egress re-fills from there
first. The check is in the script, so no batch lands between a check and its XADDs.

Every call is bounded by `timeout_s`; redis-py's own retries are off so the bound holds (the
egress retries, in order, instead)."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.maint_notifications import MaintNotificationsConfig

from app.adapters.keys import seq_of, stream_id
from app.bus_names import DEFAULT_ALERT_CHANNEL, DEFAULT_ALERT_STREAM, STREAM_FIELD
from app.engine.ports import Delivery

# KEYS[1] the stream. ARGV[1] the channel, ARGV[2] the stream's approximate max length,
# ARGV[3] refill_up_to, ARGV[4] the run_id of the server the caller last heard from ('' none),
# ARGV[5] refill_up_to on any other server, then (entry id, seq, message) per signal in seq
# order. Returns {held, run_id, error or '', the stream's last seq when it ends before the
# batch with a gap (nothing added), else -1}. A legacy (shebang-less) script: Redis checks
# maxmemory at its first write only, so a batch lands whole or stops at its first XADD.
_PUBLISH_BATCH = f"""
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local last = 0
if #newest > 0 then last = tonumber(string.match(newest[1][1], '^(%d+)')) end
if last < tonumber(ARGV[7]) - 1 then return {{0, run_id, '', last}} end
local refill = tonumber(ARGV[3])
if ARGV[4] ~= run_id then refill = tonumber(ARGV[5]) end
local held = 0
for i = 6, #ARGV, 3 do
  local added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], ARGV[i],
                            '{STREAM_FIELD}', ARGV[i + 2])
  if type(added) == 'table' and added.err then
    if not string.find(added.err, 'equal or smaller', 1, true) then
      return {{held, run_id, added.err, -1}}
    end
  elseif tonumber(ARGV[i + 1]) > refill then
    redis.call('PUBLISH', ARGV[1], ARGV[i + 2])
  end
  held = held + 1
end
return {{held, run_id, '', -1}}
"""


class _SenderPool(aioredis.ConnectionPool):
    """The pool of the publishing connection. `checked` turns True once a command has a
    connected, checked connection — from then on it may be sent; a failure before that
    sent nothing."""

    checked = False

    async def ensure_connection(self, connection: Any) -> None:
        await super().ensure_connection(connection)
        self.checked = True


class RedisBus:
    name = "redis"

    def __init__(
        self,
        url: str,
        channel: str,
        stream: str,
        maxlen: int = 100_000,
        timeout_s: float = 0.25,
        alert_channel: str = DEFAULT_ALERT_CHANNEL,
        alert_stream: str = DEFAULT_ALERT_STREAM,
    ) -> None:
        self.url = url
        self.alert_channel = alert_channel
        self.alert_stream = alert_stream
        self.channel = channel
        self.stream = stream
        self.maxlen = maxlen
        self.timeout_s = timeout_s
        options: dict[str, Any] = {
            "socket_timeout": timeout_s,
            "socket_connect_timeout": timeout_s,
            "retry": Retry(NoBackoff(), 0),
            "retry_on_timeout": False,
            "health_check_interval": 0,
            # with maintenance notifications on ("auto" in redis-py 8), the pool skips its
            # check of a pooled connection for a closed socket, and a batch would be sent
            # into a connection Redis has closed: an outcome "unknown" for nothing
            "maint_notifications_config": MaintNotificationsConfig(enabled=False),
        }
        self._sender_pool: _SenderPool | None = None
        self.client: Any
        self._sender: Any
        if is_cluster_url(url):
            # Redis Cluster: the stream key routes the script to its node (the channel is
            # cluster-wide). No pool of our own to tell "not sent" from "sent": every failed
            # call counts as maybe sent — never announced twice, at worst not announced
            self.client = self._sender = aioredis.RedisCluster.from_url(
                plain_url(url), socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        else:
            self.client = aioredis.Redis.from_url(url, **options)  # reads, PING
            self._sender_pool = _SenderPool.from_url(url, **options)
            self._sender = aioredis.Redis.from_pool(self._sender_pool)
        self._publish = self._sender.register_script(_PUBLISH_BATCH)
        self.server = ""  # run_id of the Redis that answered last
        self.unsure_up_to = 0  # highest seq of a call whose outcome is unknown (0: none)
        self._failed = False  # the last call raised: PING before sending the next batch

    async def start(self) -> None:
        return None

    async def publish_many(self, items: list[tuple[int, bytes]], refill_up_to: int) -> Delivery:
        """XADD each (seq, message) with the seq as entry id, in order, stopping at the first
        refusal; PUBLISH those added with a seq above `refill_up_to`. One script, one round
        trip. Raises on an unreachable or silent Redis (see the module docstring)."""
        if not items:
            return Delivery(0)
        if self._failed:  # nothing is sent to a Redis that does not answer a PING
            await asyncio.wait_for(self._sender.ping(), self.timeout_s)
        args: list[str | int | bytes] = [
            self.channel, self.maxlen, refill_up_to, self.server,
            max(refill_up_to, self.unsure_up_to)]
        for seq, message in items:
            args += [stream_id(seq), seq, message]
        if self._sender_pool is not None:
            self._sender_pool.checked = False
        try:
            held, server, error, ends_at = await asyncio.wait_for(
                self._publish(keys=[self.stream], args=args), self.timeout_s)
        except BaseException:
            self._failed = True
            if self._sender_pool is None or self._sender_pool.checked:  # it may have run
                self.unsure_up_to = max(self.unsure_up_to, items[-1][0])
            raise
        self._failed = False
        self.unsure_up_to = 0  # the stream (same server) or the rule (another) settled it
        self.server = server.decode() if isinstance(server, bytes) else str(server)
        reason = error.decode() if isinstance(error, bytes) else str(error)
        return Delivery(int(held), reason or None, None if int(ends_at) < 0 else int(ends_at))

    async def publish_alert(self, message: bytes) -> None:
        """XADD the alert to the alert stream (field `data`) and PUBLISH it on the alert
        channel, in one MULTI round trip; raises when Redis does not take it."""
        pipe = self.client.pipeline(transaction=True)
        pipe.xadd(self.alert_stream, {STREAM_FIELD: message}, maxlen=self.maxlen,
                  approximate=True)
        pipe.publish(self.alert_channel, message)
        await asyncio.wait_for(pipe.execute(), self.timeout_s)

    async def last_seq(self) -> int | None:
        try:
            entries = await asyncio.wait_for(
                self.client.xrevrange(self.stream, count=1), self.timeout_s
            )
        except BaseException:
            self._failed = True
            raise
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
        if self._sender is not self.client:
            await self._sender.aclose()


def is_cluster_url(url: str) -> bool:
    """`HEDGE_REDIS_URL` names a Redis Cluster (through any of its nodes) with `?cluster=1`
    or the scheme `redis+cluster://`."""
    return url.startswith("redis+cluster://") or "cluster=1" in url


def plain_url(url: str) -> str:
    """The URL without the cluster marker (what redis-py takes)."""
    out = url.replace("redis+cluster://", "redis://")
    for marker in ("?cluster=1&", "&cluster=1", "?cluster=1"):
        out = out.replace(marker, "?" if marker.endswith("&") else "")
    return out
