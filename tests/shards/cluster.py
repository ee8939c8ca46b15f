"""N shards and a gateway as real processes on loopback ports over one real Redis
(`HEDGE_TEST_REDIS_URL`, DB 15 by default), with Redis names unique to the test."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import redis

from app.domain.shard import shard_of
from tests.faults.harness import PYTHON, Service, free_port, get, service_env, wait_until

REDIS_URL = os.environ.get("HEDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
START_S = 180.0  # a cold start compiles kernels; on a busy two-core machine that takes long


def owned_by(index: int, count: int, prefix: str = "U") -> str:
    return next(f"{prefix}{i}" for i in range(1000) if shard_of(f"{prefix}{i}", count) == index)


def call_on(underlying: str, strike: float = 100.0) -> str:
    """An OCC call on `underlying`, a year after today (the test runs on any date)."""
    expiry = (datetime.now(UTC) + timedelta(days=365)).strftime("%y%m%d")
    return f"{underlying:<6}{expiry}C{int(strike * 1000):08d}"


@dataclass
class Cluster:
    tmp_path: Path
    count: int
    redis_url: str = REDIS_URL  # `…?cluster=1`: a Redis Cluster
    tag: str = field(default_factory=lambda: f"shards-test:{uuid.uuid4().hex[:8]}")
    shards: list[Service] = field(default_factory=list)
    gateway: Service | None = None

    def env(self, port: int, **settings: str | float | int) -> dict[str, str]:
        env = service_env(self.tmp_path, port, redis_url=self.redis_url,
                          signal_stream=f"{self.tag}:stream",
                          signal_channel=f"{self.tag}:signals",
                          registry_prefix=f"{self.tag}:shard", shard_lease_s=1.5,
                          risk_prefix=f"{self.tag}:risk",
                          log_level="warning", **settings)
        return env

    def start(self) -> None:
        for k in range(self.count):
            port = free_port()
            env = self.env(port, shard=f"{k}/{self.count}",
                           db_path=str(self.tmp_path / f"journal-{k}.db"))
            svc = Service(port, env, self.tmp_path / f"shard-{k}.log")
            self.shards.append(svc)
            svc.start()
        port = free_port()
        self.gateway = Service(port, self.env(port, shards=self.count),
                               self.tmp_path / "gateway.log",
                               command=[PYTHON, "-m", "app", "gateway"])
        self.gateway.start()
        for svc in self.shards:
            svc.wait_ready(START_S)
        self.gateway.wait_listening(START_S)
        wait_until(lambda: get(self.gateway.base + "/readyz", 2.0).status_code == 200, 30,
                   "gateway sees every shard")

    def gw(self, timeout: float = 10.0) -> httpx.Client:
        assert self.gateway is not None
        return self.gateway.client(timeout)

    def stream(self, k: int) -> str:
        return f"{self.tag}:stream:{{{k}}}"

    def redis(self) -> redis.Redis | redis.RedisCluster:
        if "cluster=1" in self.redis_url:
            return redis.RedisCluster.from_url(self.redis_url.replace("?cluster=1", ""))
        return redis.Redis.from_url(self.redis_url)

    def close(self) -> None:
        for svc in [*self.shards, *([self.gateway] if self.gateway else [])]:
            svc.stop()
        if "cluster=1" in self.redis_url:
            return  # the test's own cluster, stopped after it
        with self.redis() as r:
            keys = list(r.scan_iter(match=f"{self.tag}:*"))
            if keys:
                r.delete(*keys)


@contextlib.contextmanager
def running(tmp_path: Path, count: int) -> Iterator[Cluster]:
    """`count` shards and a gateway over the test Redis, stopped (and their keys removed)
    after."""
    c = Cluster(tmp_path, count)
    try:
        c.start()
        yield c
    finally:
        c.close()
