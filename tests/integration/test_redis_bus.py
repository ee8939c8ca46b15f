"""The Redis bus against a real Redis: exactly once in the stream, the seq as entry id."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from app.adapters.redis_bus import RedisBus
from app.engine.ports import Delivery
from app.settings import Settings
from tests.integration.conftest import REDIS_URL, free_port, start_service

pytestmark = pytest.mark.redis


async def test_a_republished_seq_lands_once_and_last_seq_reads_it():
    tag = uuid.uuid4().hex[:8]
    bus = RedisBus(REDIS_URL, f"t:{tag}:ch", f"t:{tag}:st")
    try:
        assert await bus.problem() is None
        assert await bus.last_seq() is None
        assert await bus.publish_many([(1, b'{"seq":1}'), (2, b'{"seq":2}')], 0) == Delivery(2)
        # a retry after a timeout that did land: held already
        assert await bus.publish_many([(2, b'{"seq":2}')], 0) == Delivery(1)
        entries = await bus.client.xrange(bus.stream)
        assert [e[0] for e in entries] == [b"1-1", b"2-1"]
        assert await bus.last_seq() == 2
    finally:
        await bus.client.delete(bus.stream)
        await bus.close()


async def test_an_unreachable_redis_is_reported_within_the_timeout():
    bus = RedisBus("redis://127.0.0.1:1/0", "c", "s", timeout_s=0.25)
    t0 = time.monotonic()
    problem = await bus.problem()
    assert problem is not None and "redis" in problem
    assert time.monotonic() - t0 < 1.0
    await bus.close()


def test_a_stream_ahead_of_a_fresh_journal_moves_seq_on_instead_of_losing_signals(
        tmp_path, redis_client):
    tag = uuid.uuid4().hex[:8]
    stream = f"t:{tag}:st"
    redis_client.xadd(stream, {"data": b'{"seq":3}'}, id="3-1")
    settings = Settings(port=free_port(), redis_url=REDIS_URL, db_path=str(tmp_path / "j.db"),
                        signal_channel=f"t:{tag}:ch", signal_stream=stream)
    server, thread = start_service(settings)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.port}", timeout=5) as http:
            assert http.put("/v1/underlyings/XYZ", json={"vol": 0.2}).status_code == 200
            sig = http.post("/v1/hedge/signals", json={"underlying": "XYZ", "order_qty": 5})
            assert sig.json()["seq"] == 4
            deadline = time.monotonic() + 5
            while len(redis_client.xrange(stream)) < 2:
                assert time.monotonic() < deadline, "seq 4 never reached the stream"
                time.sleep(0.01)
            assert [e[0] for e in redis_client.xrange(stream)] == [b"3-1", b"4-1"]
    finally:
        server.should_exit = True
        thread.join(10)
        redis_client.delete(stream)
