"""Redis paused (SIGSTOP) — the worst outage: connections open, nothing answers. On a
private redis-server.

The promise (HEDGE_REDIS_TIMEOUT_MS, default 250 ms): no request to the service waits on
Redis past that bound. /readyz answers 503 naming Redis within about the timeout; the tick,
fill and read paths do not touch Redis at all. After SIGCONT the service recovers by itself:
the signals produced while Redis was frozen reach the stream exactly once, in order."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest

from tests.faults.harness import (
    PrivateRedis,
    ServiceFactory,
    load_book,
    signals,
    stream_matches_log,
    wait_stream_is_log,
    wait_until,
)
from tests.faults.load import TickFeed
from tests.faults.test_redis_outage import POLICY

pytestmark = [pytest.mark.faults]

TIMEOUT_MS = 250
MARGIN_S = 0.35  # scheduling on two shared cores, the HTTP round trip itself
UNDERLYINGS = ["AAA", "BBB"]


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    t0 = time.perf_counter()
    r = call()
    return r, time.perf_counter() - t0


def test_while_redis_is_paused_no_request_waits_past_the_redis_timeout(
        services: ServiceFactory, private_redis: PrivateRedis):
    bound = TIMEOUT_MS / 1000 + MARGIN_S
    svc = services(redis_url=private_redis.url, redis_timeout_ms=TIMEOUT_MS)
    stream = svc.env["HEDGE_SIGNAL_STREAM"]
    rds = private_redis.client()
    slow: list[str] = []
    readyz_s: list[float] = []
    with svc.client(timeout=10) as http:
        load_book(http, UNDERLYINGS, policy=POLICY)
        feed = TickFeed(svc, UNDERLYINGS, 99).start()
        try:
            wait_until(lambda: len(signals(http)) >= 3, 10, "signals from the tick feed")
            wait_until(lambda: stream_matches_log(http, rds, stream), 5, "the stream in step")
            before = len(signals(http))

            private_redis.pause()
            t_paused = time.monotonic()
            fill_no = 0

            def fill() -> httpx.Response:
                nonlocal fill_no
                fill_no += 1
                return http.post("/v1/fills", json={"exec_id": f"P-{fill_no}", "symbol": "AAA",
                                                    "side": "buy", "quantity": 1, "price": 100})

            checks: list[tuple[str, Callable[[], httpx.Response], int]] = [
                ("GET /readyz", lambda: http.get("/readyz"), 503),
                ("POST /v1/ticks", lambda: http.post("/v1/ticks", json={"symbol": "BBB",
                                                                        "price": 100.1}), 200),
                ("GET /v1/risk", lambda: http.get("/v1/risk"), 200),
                ("GET /v1/risk/AAA", lambda: http.get("/v1/risk/AAA"), 200),
                ("POST /v1/fills", fill, 200),
                ("GET /v1/hedge/signals", lambda: http.get("/v1/hedge/signals"), 200),
                ("GET /healthz", lambda: http.get("/healthz"), 200),
                ("GET /metrics", lambda: http.get("/metrics"), 200),
            ]
            rounds = 0
            while time.monotonic() < t_paused + 3.0 or rounds < 3:
                rounds += 1
                for name, call, status in checks:
                    r, took = timed(call)
                    assert r.status_code == status, f"{name} while paused: {r.status_code} {r.text}"
                    if name == "GET /readyz":
                        assert "redis" in json.dumps(r.json()).lower(), r.text
                        readyz_s.append(took)
                    if took > bound:
                        slow.append(f"{name}: {1000 * took:.0f} ms")
            during = len(signals(http))
            private_redis.resume()
            t_resumed = time.monotonic()
            wait_until(lambda: stream_matches_log(http, rds, stream)
                       and http.get("/readyz").status_code == 200, 10,
                       "the stream in step and /readyz 200 after SIGCONT")
            recovered_s = time.monotonic() - t_resumed
        finally:
            if private_redis.paused:
                private_redis.resume()
            feed.stop()
        assert not feed.errors, f"ticks refused: {feed.errors[:5]}"
        total = wait_stream_is_log(http, rds, stream, 5, "the last signals drained")
    print(f"\nRedis paused {t_resumed - t_paused:.1f} s: {rounds} rounds of {len(checks)} "
          f"requests (/readyz 503 in at most {1000 * max(readyz_s):.0f} ms); "
          f"{during - before} signals produced "
          f"while paused, recovered {recovered_s:.2f} s after SIGCONT, {total} on the stream "
          f"exactly once; ticks meanwhile: {feed.summary(t_paused, t_resumed)}")
    assert not slow, f"requests that waited past {1000 * bound:.0f} ms: {slow}"
    assert during > before, "no signal was produced while Redis was paused"
