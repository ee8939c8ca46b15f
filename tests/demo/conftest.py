"""Fixtures for the demo and the paper bot: a real service in the test's own event loop, on
a free loopback port, with its journal in the test's temp dir."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from app.demo.service import bind_listener, running_service
from app.settings import Settings

TEST_REDIS_URL = os.environ.get("HEDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
START_TIMEOUT_S = 90.0  # a cold numba cache compiles the pricing kernels first


def service_settings(tmp_path: Path, **overrides: object) -> Settings:
    given: dict[str, object] = {"host": "127.0.0.1", "db_path": str(tmp_path / "journal.db"),
                                "redis_url": None, "api_keys": None, **overrides}
    return Settings(**given)  # type: ignore[arg-type]


@pytest.fixture
def names() -> dict[str, str]:
    """Redis names of this test alone."""
    tag = uuid.uuid4().hex[:12]
    return {"stream": f"test:demo:{tag}:stream", "channel": f"test:demo:{tag}:channel"}


@pytest.fixture
async def redis_client(names: dict[str, str]) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(TEST_REDIS_URL, socket_timeout=5.0)
    try:
        yield client
    finally:
        await client.delete(names["stream"])
        await client.aclose()


@pytest.fixture
async def redis_service(tmp_path: Path, names: dict[str, str],
                        redis_client: aioredis.Redis) -> AsyncIterator[httpx.AsyncClient]:
    """The service publishing to this test's Redis stream; an httpx client on it."""
    settings = service_settings(tmp_path, redis_url=TEST_REDIS_URL,
                                signal_stream=names["stream"], signal_channel=names["channel"])
    async with running_service(settings, bind_listener("127.0.0.1", 0),
                               start_timeout_s=START_TIMEOUT_S) as url, \
            httpx.AsyncClient(base_url=url, timeout=10.0) as http:
        yield http


@pytest.fixture
async def memory_service(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The service on its in-process bus (no Redis); an httpx client on it."""
    async with running_service(service_settings(tmp_path), bind_listener("127.0.0.1", 0),
                               start_timeout_s=START_TIMEOUT_S) as url, \
            httpx.AsyncClient(base_url=url, timeout=10.0) as http:
        yield http
