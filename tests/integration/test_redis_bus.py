"""The Redis bus against a real Redis: exactly once in the stream, the seq as entry id."""

from __future__ import annotations

import uuid

import pytest

from app.adapters.redis_bus import RedisBus
from tests.integration.conftest import REDIS_URL

pytestmark = pytest.mark.redis


async def test_a_republished_seq_lands_once_and_last_seq_reads_it():
    tag = uuid.uuid4().hex[:8]
    bus = RedisBus(REDIS_URL, f"t:{tag}:ch", f"t:{tag}:st")
    try:
        assert await bus.problem() is None
        assert await bus.last_seq() is None
        await bus.publish(1, b'{"seq":1}')
        await bus.publish(2, b'{"seq":2}')
        await bus.publish(2, b'{"seq":2}')  # a retry after a timeout that did land
        entries = await bus.client.xrange(bus.stream)
        assert [e[0] for e in entries] == [b"1-1", b"2-1"]
        assert await bus.last_seq() == 2
    finally:
        await bus.client.delete(bus.stream)
        await bus.close()


async def test_an_unreachable_redis_is_reported_within_the_timeout():
    import time

    bus = RedisBus("redis://127.0.0.1:1/0", "c", "s", timeout_s=0.25)
    t0 = time.monotonic()
    problem = await bus.problem()
    assert problem is not None and "redis" in problem
    assert time.monotonic() - t0 < 1.0
    await bus.close()
