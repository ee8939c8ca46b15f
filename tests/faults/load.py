"""A tick feed for the fault tests: a thread posting ticks round-robin over some underlyings,
timing each HTTP round trip, until stopped."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.faults.harness import Service, percentile


@dataclass
class TickFeed:
    svc: Service
    underlyings: list[str]
    seed: int
    rate_hz: float = 150.0
    samples: list[tuple[float, float, int]] = field(default_factory=list)  # (t, s, status)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> TickFeed:
        self._thread = threading.Thread(target=self._run, name="tick-feed", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            assert not self._thread.is_alive(), "the tick feed did not stop"

    def _run(self) -> None:
        rng = random.Random(self.seed)
        period = 1.0 / self.rate_hz
        with self.svc.client() as http:
            i = 0
            next_at = time.monotonic()
            while not self._stop.is_set():
                u = self.underlyings[i % len(self.underlyings)]
                i += 1
                body: dict[str, Any] = {"symbol": u, "price": round(100 + rng.uniform(-0.6, 0.6),
                                                                  2)}
                t0 = time.perf_counter()
                try:
                    r = http.post("/v1/ticks", json=body)
                    status = r.status_code
                    if status != 200 or r.json()["accepted"] != 1:
                        self.errors.append(f"{body}: {status} {r.text[:200]}")
                except httpx.HTTPError as exc:
                    status = 0
                    self.errors.append(f"{body}: {exc!r}")
                self.samples.append((time.monotonic(), time.perf_counter() - t0, status))
                next_at += period
                delay = next_at - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)  # pacing the feed, not waiting for a condition
                else:
                    next_at = time.monotonic()

    def latencies(self, since: float, until: float) -> list[float]:
        return [s for t, s, _ in list(self.samples) if since <= t <= until]

    def summary(self, since: float, until: float) -> str:
        lat = self.latencies(since, until)
        return (f"{len(lat)} ticks, p50 {1000 * percentile(lat, 50):.1f} ms, "
                f"p99 {1000 * percentile(lat, 99):.1f} ms, max {1000 * max(lat):.1f} ms")
