"""Where the shards are: each shard keeps a record in Redis under a lease, the gateways read them.

Shard K's key is `{prefix}:{K}` (default `hedge:shard:{0}`; the braces are a Redis Cluster hash
tag), its value the JSON record `{shard: "K/N", index, count, url, pid, instance, since}`, set
with a lease (`PX`) of `lease_s` and renewed every third of it. A shard that dies stops
renewing and its key expires; a shard that stops cleanly withdraws its own record at once (and
never another instance's: the delete checks the `instance` it wrote)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from app.adapters.redis_bus import is_cluster_url, plain_url
from app.domain.shard import Shard

log = logging.getLogger("dynhedge.registry")

# KEYS[1] the record, ARGV[1] our instance: delete it only while it is ours
_WITHDRAW = """
local v = redis.call('GET', KEYS[1])
if v and string.find(v, ARGV[1], 1, true) then return redis.call('DEL', KEYS[1]) end
return 0
"""


def registry_key(prefix: str, index: int) -> str:
    return f"{prefix}:{{{index}}}"


def connect(url: str, timeout_s: float) -> Any:
    """A client for one Redis; `HEDGE_REDIS_URL` with `?cluster=1` (or a `redis+cluster://`
    scheme) names a Redis Cluster through any of its nodes."""
    options: dict[str, Any] = {"socket_timeout": timeout_s, "socket_connect_timeout": timeout_s}
    if is_cluster_url(url):
        return aioredis.RedisCluster.from_url(plain_url(url), **options)
    return aioredis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), **options)


class ShardRedisTask:
    """A shard's background task writing to Redis (its risk figures, its part of the firm's
    figures): its own client, the shard, a bound per round of calls, and a clean stop."""

    def __init__(self, url: str, prefix: str, shard: Shard, timeout_s: float = 0.5) -> None:
        self.client = connect(url, timeout_s)
        self.prefix = prefix
        self.shard = shard
        self.timeout_s = max(timeout_s, 1.0)  # a round of calls, not one call
        self._task: asyncio.Task[None] | None = None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        await self.client.aclose()


class ShardRegistry:
    def __init__(self, url: str, prefix: str, lease_s: float = 3.0,
                 timeout_s: float = 0.5) -> None:
        self.prefix = prefix
        self.lease_ms = max(1, int(lease_s * 1000))
        self.timeout_s = timeout_s
        self.client = connect(url, timeout_s)
        self.instance = uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None
        self._record: bytes = b""
        self._key = ""

    # --- the shard's side -----------------------------------------------------------------

    async def register(self, shard: Shard, url: str) -> bool:
        """Write our record now and renew it in the background until `withdraw`. False when
        Redis did not take it now: the renewals keep trying (gateways answer 503 meanwhile)."""
        self._key = registry_key(self.prefix, shard.index)
        self._record = orjson.dumps({
            "shard": shard.label, "index": shard.index, "count": shard.count, "url": url,
            "pid": os.getpid(), "instance": self.instance, "since": time.time()})
        try:
            await self._renew()
            taken = True
        except Exception as exc:
            log.error("shard record %s not written (%s): retrying", self._key, exc)
            taken = False
        self._task = asyncio.create_task(self._keep(not taken), name="shard-lease")
        return taken

    async def _renew(self) -> None:
        await asyncio.wait_for(self.client.set(self._key, self._record, px=self.lease_ms),
                               self.timeout_s)

    async def _keep(self, failing: bool) -> None:
        while True:
            await asyncio.sleep(self.lease_ms / 3000.0)
            try:
                await self._renew()
                if failing:
                    log.warning("shard lease %s renewed again", self._key)
                failing = False
            except Exception as exc:  # the lease may lapse: gateways answer 503 meanwhile
                if not failing:
                    log.error("shard lease %s not renewed: %s", self._key, exc)
                failing = True

    async def withdraw(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self._key:
            try:
                await asyncio.wait_for(self.client.eval(_WITHDRAW, 1, self._key,
                                                        self.instance), self.timeout_s)
            except Exception as exc:  # the lease expires on its own
                log.warning("shard record %s not withdrawn: %s", self._key, exc)

    # --- the gateway's side ---------------------------------------------------------------

    async def lookup(self, count: int) -> list[dict[str, Any] | None]:
        """Each shard's live record (None: no live shard K). Raises when Redis does not
        answer."""
        keys = [registry_key(self.prefix, k) for k in range(count)]
        values = await asyncio.wait_for(
            asyncio.gather(*(self.client.get(key) for key in keys)), self.timeout_s)
        out: list[dict[str, Any] | None] = []
        for k, raw in enumerate(values):
            record = orjson.loads(raw) if raw else None
            if record is not None and (record.get("count") != count or record.get("index") != k):
                log.error("shard record %s says %s, not %d/%d", keys[k], record.get("shard"),
                          k, count)
                record = None
            out.append(record)
        return out

    async def close(self) -> None:
        await self.client.aclose()
