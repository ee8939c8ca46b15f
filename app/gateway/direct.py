"""For a feed handler that sends to the owning shard itself, skipping the gateway's hop: which
shard owns a symbol and where it is (the registry in Redis). Synchronous, no FastAPI.

    directory = ShardDirectory("redis://127.0.0.1:6379/0", count=3)
    httpx.post(directory.url_for("XYZ   270219C00098000") + "/v1/ticks", json=tick)

Addresses are cached for `refresh_s`; a shard answering 421 names the right one."""

from __future__ import annotations

import time
from typing import Any

import orjson
import redis

from app.adapters.redis_bus import is_cluster_url, plain_url
from app.adapters.shard_registry import registry_key
from app.domain.shard import shard_of, underlying_of


class ShardDown(LookupError):
    pass


class ShardDirectory:
    def __init__(self, redis_url: str, count: int, prefix: str = "hedge:shard",
                 refresh_s: float = 1.0) -> None:
        self.count = count
        self.prefix = prefix
        self.refresh_s = refresh_s
        self.client: Any = (redis.RedisCluster.from_url(plain_url(redis_url))
                            if is_cluster_url(redis_url) else redis.Redis.from_url(redis_url))
        self._urls: dict[int, tuple[str | None, float]] = {}

    def shard_for(self, symbol: str, underlying: str | None = None) -> int:
        """The owner of `underlying` (given) or of the underlying the symbol names."""
        return shard_of(underlying or underlying_of(symbol), self.count)

    def url_of(self, index: int) -> str:
        url, read_at = self._urls.get(index, (None, -1e9))
        if time.monotonic() - read_at >= self.refresh_s:
            raw = self.client.get(registry_key(self.prefix, index))
            url = None if raw is None else str(orjson.loads(raw)["url"]).rstrip("/")
            self._urls[index] = (url, time.monotonic())
        if url is None:
            raise ShardDown(f"shard {index}/{self.count} is not registered")
        return url

    def url_for(self, symbol: str, underlying: str | None = None) -> str:
        return self.url_of(self.shard_for(symbol, underlying))

    def close(self) -> None:
        self.client.close()
