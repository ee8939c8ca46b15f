"""Redis at its memory limit (`maxmemory` + `noeviction`, filled by other keys) under a tick
load that makes a signal of nearly every tick — on a private redis-server.

Such a Redis refuses most writes with OOM and takes some (whenever other clients free a
little room), so a batch of signals may land in part. The promise: every journaled seq
reaches the stream once, in order, and the channel once, whatever Redis answers; while
signals wait, /readyz answers 503 with Redis's reason, the outbox-depth gauge shows them,
the failures are counted and logged with their reason; once Redis has room again the
backlog drains by itself."""

from __future__ import annotations

import time

import pytest

from tests.faults.harness import (
    PrivateRedis,
    ServiceFactory,
    load_book,
    metric,
    signals,
    stream_matches_log,
    wait_stream_is_log,
    wait_until,
)
from tests.faults.load import TickFeed
from tests.faults.redis_probes import ChannelCounter, MemoryPressure

pytestmark = [pytest.mark.faults]

SEED = 4_242
PRESSURE_S = 8.0
LOADED = ["AAA", "BBB", "CCC"]
# band 0 with a short TTL: nearly every tick moves delta enough to send a signal
POLICY = {"mode": "band", "band": 0.0, "pending_ttl_s": 0.3, "max_signals_per_s": 1_000.0}


def test_a_redis_at_its_memory_limit_loses_no_signal_and_says_why(
        services: ServiceFactory, private_redis: PrivateRedis):
    svc = services(redis_url=private_redis.url)
    stream, channel = svc.env["HEDGE_SIGNAL_STREAM"], svc.env["HEDGE_SIGNAL_CHANNEL"]
    rds = private_redis.client()
    counter = ChannelCounter(private_redis, channel).start()
    pressure = MemoryPressure(private_redis, SEED, headroom_bytes=2 * 1024 * 1024)
    reasons: list[str] = []
    depths: list[float] = []
    with svc.client() as http:
        load_book(http, LOADED, policy=POLICY)
        feed = TickFeed(svc, LOADED, SEED, rate_hz=200.0).start()
        try:
            wait_until(lambda: len(signals(http)) >= 20, 10, "signals from the tick feed")
            wait_until(lambda: stream_matches_log(http, rds, stream), 5, "the stream in step")
            before = len(signals(http))
            errors_before = metric(http, "dynhedge_redis_publish_errors_total")
            pressure.fill()
            t_full = time.monotonic()
            while time.monotonic() < t_full + PRESSURE_S:
                r = http.get("/readyz")
                if r.status_code == 503:
                    reasons.append(r.text)
                depths.append(metric(http, "dynhedge_outbox_depth"))
                time.sleep(0.05)  # a reading every ~50 ms through the pressure
            during = len(signals(http))
            errors = metric(http, "dynhedge_redis_publish_errors_total") - errors_before
        finally:
            pressure.free()
        try:
            wait_stream_is_log(http, rds, stream, 20,
                               "every signal on the stream once Redis had room again")
            wait_until(lambda: http.get("/readyz").status_code == 200, 5, "/readyz 200")
        finally:
            feed.stop()
        assert not feed.errors, f"ticks refused: {feed.errors[:5]}"
        total = wait_stream_is_log(http, rds, stream, 10, "the last signals drained")
    try:
        wait_until(lambda: len(counter.snapshot()) >= total, 10, "every seq on the channel")
    finally:
        counter.stop()
    got = counter.snapshot()
    missing = sorted(set(range(1, total + 1)) - set(got))
    assert not missing, f"{len(missing)} seqs never on the channel: {missing[:10]}"
    assert not counter.repeated(), f"seqs on the channel twice: {counter.repeated()}"

    assert pressure.refused_sets, "Redis never refused a write: was it at its limit?"
    assert during - before >= 200, f"only {during - before} signals under pressure"
    assert errors > 0, "no failed publish counted while Redis refused writes"
    assert any("maxmemory" in r for r in reasons), \
        f"/readyz never said why signals waited: {reasons[:3]}"
    assert max(depths) > 0, "the outbox-depth gauge never showed the waiting signals"
    assert "maxmemory" in svc.log_text(), "the refusals were not logged with their reason"
    print(f"\nRedis at maxmemory (noeviction) for {PRESSURE_S:g} s under 200 ticks/s: "
          f"{during - before} signals meanwhile, {errors:g} failed publishes, outbox depth up "
          f"to {max(depths):g}, /readyz 503 in {len(reasons)} of {len(depths)} readings; "
          f"all {total} on the stream and on the channel exactly once, in order")
