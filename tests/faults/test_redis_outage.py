"""Redis stopped for 5 s under a tick load, and Redis coming back empty — on a private
redis-server (the shared one is never touched).

The promise: a bus outage never stops the book or the record. Ticks keep being answered fast
and keep producing signals (journaled, readable on REST) while Redis is down; /readyz says
503 naming Redis; risk keeps updating; when Redis returns every signal reaches the stream
exactly once, in seq order, without gaps. A Redis that comes back empty is noticed and
re-filled from the journal, from the last seq it holds — while the service runs, not only
at its start."""

from __future__ import annotations

import json
import time

import pytest

from tests.faults.harness import (
    PrivateRedis,
    ServiceFactory,
    load_book,
    metric,
    percentile,
    signals,
    stream_matches_log,
    wait_stream_is_log,
    wait_until,
)
from tests.faults.load import TickFeed

pytestmark = [pytest.mark.faults]

SEED = 7_321
OUTAGE_S = 5.0
TICK_P99_LIMIT_S = 0.020
LOADED = ["AAA", "BBB", "CCC"]  # ticked by the feed
PROBE = "DDD"  # ticked by the test itself, to see risk move during the outage
# band hedging whose pending orders expire fast: a steady flow of signals from ticks
POLICY = {"mode": "band", "band": 50.0, "pending_ttl_s": 0.3, "max_signals_per_s": 5.0}


def test_a_5_s_redis_outage_under_load_loses_no_signal_and_keeps_ticks_fast(
        services: ServiceFactory, private_redis: PrivateRedis):
    svc = services(redis_url=private_redis.url)
    stream = svc.env["HEDGE_SIGNAL_STREAM"]
    rds = private_redis.client()
    with svc.client() as http:
        load_book(http, [*LOADED, PROBE], policy=POLICY)
        feed = TickFeed(svc, LOADED, SEED).start()
        try:
            wait_until(lambda: len(signals(http)) >= 5, 10, "signals from the tick feed")
            wait_until(lambda: stream_matches_log(http, rds, stream), 5, "the stream in step")
            before = len(signals(http))
            errors_before = metric(http, "dynhedge_redis_publish_errors_total")

            t_down = time.monotonic()
            private_redis.stop(save=True)  # down, with its data kept: it comes back as it was
            t0 = time.perf_counter()
            r = wait_until(lambda: (x := http.get("/readyz")).status_code == 503 and x, 2,
                           "/readyz answering 503 while Redis is down")
            assert "redis" in json.dumps(r.json()).lower(), f"503 without naming Redis: {r.text}"
            assert time.perf_counter() - t0 < 1.0
            price = 100.0
            while time.monotonic() < t_down + OUTAGE_S:
                price = round(price + 0.01, 2)  # the book keeps moving
                assert http.post("/v1/ticks", json={"symbol": PROBE, "price": price}).is_success
                wait_until(lambda p=price: http.get(f"/v1/risk/{PROBE}").json()["spot"] == p,
                           1, f"risk reflecting the {PROBE} tick at {price} while Redis is down")
                time.sleep(0.1)  # a tick of the probe every ~100 ms through the outage
            during = len(signals(http))
            assert http.get("/readyz").status_code == 503, "ready while Redis is still down"
            assert metric(http, "dynhedge_redis_publish_errors_total") > errors_before, \
                "no publish failed: was Redis really down while signals were produced?"

            private_redis.start()
            t_up = time.monotonic()
            wait_until(lambda: stream_matches_log(http, rds, stream)
                       and http.get("/readyz").status_code == 200, 15,
                       "every signal on the stream and /readyz 200 after Redis returned")
            drained_s = time.monotonic() - t_up
        finally:
            feed.stop()
        assert not feed.errors, f"ticks refused: {feed.errors[:5]}"
        total = wait_stream_is_log(http, rds, stream, 5, "the last signals drained")

    produced = during - before
    assert produced >= 5, f"only {produced} signals while Redis was down: not under load"
    lat = feed.latencies(t_down, t_up)
    summary = feed.summary(t_down, t_up)
    print(f"\nRedis down {t_up - t_down:.1f} s: {produced} signals produced and journaled "
          f"while down, all {total} on the stream exactly once, drained {drained_s:.2f} s "
          f"after Redis returned; tick POST round trip during the outage: {summary}")
    p99 = percentile(lat, 99)
    assert p99 < TICK_P99_LIMIT_S, f"tick path p99 {1000 * p99:.1f} ms during the outage"


def test_a_redis_that_restarts_empty_is_refilled_from_the_journal_while_running(
        services: ServiceFactory, private_redis: PrivateRedis):
    svc = services(redis_url=private_redis.url)
    stream = svc.env["HEDGE_SIGNAL_STREAM"]
    rds = private_redis.client()
    with svc.client() as http:
        load_book(http, LOADED, policy=POLICY)
        feed = TickFeed(svc, LOADED, SEED + 1).start()
        try:
            wait_until(lambda: len(signals(http)) >= 5, 10, "signals from the tick feed")
            wait_until(lambda: stream_matches_log(http, rds, stream), 5, "the stream in step")
            # comes back empty under load: new signals keep coming while it is re-filled
            private_redis.stop(save=False)
            private_redis.wipe()
            private_redis.start()
            n = len(signals(http))
            wait_until(lambda: len(signals(http)) >= n + 3, 10, "signals after the restart")
        finally:
            feed.stop()
        wait_stream_is_log(http, rds, stream, 10,
                           "the stream re-filled from seq 1 after Redis came back empty under load")

        # comes back empty while idle: no new signal, no failed publish to notice it by
        private_redis.stop(save=False)
        private_redis.wipe()
        private_redis.start()
        total = wait_stream_is_log(http, rds, stream, 10,
                                   "the stream re-filled from the journal after an idle empty "
                                   "restart")
    print(f"\nempty Redis restarts: re-filled with all {total} signals both times")
