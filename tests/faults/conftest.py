"""Fixtures of the fault tests: services as real `python -m app serve` children, and a private
redis-server per test for the tests that stop, wipe or pause Redis."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.faults.harness import PrivateRedis, ServiceFactory

SHARED_REDIS_URL = os.environ.get("HEDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[ServiceFactory]:
    factory = ServiceFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not on PATH (apt-get install redis-server)")
    r = PrivateRedis(tmp_path / "redis")
    r.start()
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
def shared_redis() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(SHARED_REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"no Redis at {SHARED_REDIS_URL}: {exc}")
    yield client
    client.close()
