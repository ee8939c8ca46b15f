"""Benchmark section `service`: tick-to-signal latency and tick throughput of the service.

(a) In process — the synchronous `Core` on a `ManualClock`, one underlying with 100, 1,000 and
    10,000 options, a band policy (band 1 share, throttle never biting). Each tick alternates
    the spot 99/101, so every tick produces a signal; the previous signal is still pending
    when the next tick comes (it is filled, untimed, one tick later, so pending orders do
    not pile up and every sample sees the same state). Timed per tick, perf_counter_ns:
    `core.apply_tick(tick)` + `core.recompute(u)` + `codec.dumps(signal.as_message())` —
    what the runner does before the signal goes to the outbox. The same with every rail
    active (max_order, max_position, stale_after_s, max_notional_per_min, a high throttle,
    reduce_only false): its p99 over the band-only p99 is the rails ratio (target ≤ 1.2).
    The event clock moves 50 ms per tick (20 ticks/s on the underlying, as in (b)), and
    1,200 warm-up ticks fill the 60 s notional window before the samples are taken.
    Also: 200 options of one underlying inside a 50 × 200 book (the book of (b) and (c)).
(b) End to end — `python -m app serve` as a subprocess with Redis, the 50 × 200 book loaded
    over REST with band policies; ticks at a fixed 1,000/s, one per frame, round-robin over
    the underlyings on `/v1/ws/ingest` (ack mode); a subscriber in another process on the
    Redis channel. Latency = arrival − the tick's send time (the signal's `ts`). The policies
    set `pending_ttl_s` 1 s: no bot fills in this run, and never-filled pending orders would
    otherwise pile up for 30 s (600 per underlying), a state only a dead bot produces. Beside
    it, the floor: redis-py PUBLISH straight to the same kind of subscriber process.
(c) Throughput — frames of 100 ticks on one WebSocket, at most 4 frames unacknowledged, for
    a fixed time; the accepted ticks/s, and `dynhedge_risk_lag_seconds` from /metrics over
    that window (p99 estimated from the buckets; the highest bucket hit). When the risk lag
    p99 exceeds 50 ms at full speed, paced runs at lower rates find the highest rate that
    holds it.

Rows: {section, name, n, value, unit, reference, ratio} plus `ok` and details; `ratio` is
value / reference for latencies and reference / value for rates, so ≤ 1 meets the target.
`quick` shortens everything (fewer ticks, one short end-to-end run) to finish in < 30 s.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np

from app.bench.service_inproc import inproc_rows

SECTION = "service"
TARGET_E2E_P99_MS = 1.5
TARGET_RATE = 100_000.0
TARGET_RISK_LAG_S = 0.050
DRAIN_TIMEOUT_S = 20.0  # how long the end-to-end run waits for a backed-up publisher

E2E_POLICY = {"mode": "band", "band": 1.0, "max_signals_per_s": 1e6, "pending_ttl_s": 1.0}


# --- (b), (c) over the real stack ---------------------------------------------------------------


def _percentiles_ms(latency_s: list[float], missing: int = 0, missing_at_least_s: float = 0.0
                    ) -> dict[str, Any]:
    """Nearest-rank percentiles in ms. `missing` signals (produced, never received) count as
    `missing_at_least_s` late — the time from the last tick sent to the end of the wait, a
    lower bound of their latency — so a backed-up publisher cannot flatter the tail; the
    figures are then lower bounds (`lower_bound`)."""
    if not latency_s and missing <= 0:
        return {"p50_ms": math.nan, "p99_ms": math.nan, "p999_ms": math.nan,
                "max_ms": math.nan, "missing": 0, "lower_bound": False}
    ms = np.sort(np.concatenate([np.asarray(latency_s, dtype=float) * 1e3,
                                 np.full(max(0, missing), missing_at_least_s * 1e3)]))
    return {"p50_ms": _rank(ms, 0.5), "p99_ms": _rank(ms, 0.99), "p999_ms": _rank(ms, 0.999),
            "max_ms": float(ms[-1]), "missing": max(0, missing), "lower_bound": missing > 0}


def _rank(sorted_values: np.ndarray, q: float) -> float:
    """Nearest-rank percentile (no interpolation, so an infinite value stays infinite)."""
    i = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return float(sorted_values[i])


def e2e_latency(stack: Any, underlyings: list[str], rate: float, seconds: float,
                drain_timeout_s: float = DRAIN_TIMEOUT_S) -> dict[str, Any]:
    """One fixed-rate run with a subscriber process; latency figures and what was sent."""
    from app.bench.service_e2e import Subscriber, send_paced
    from app.bench.service_metrics import histogram, scrape, total
    from app.bench.service_stack import (
        cpu_seconds,
        load_average,
        wait_drained,
    )

    before = scrape(stack.base)
    sub = Subscriber(stack, max_s=seconds + 60)
    cpu0 = cpu_seconds(stack.pid)
    try:
        sent = send_paced(stack, underlyings, rate, seconds)
        sent_end = time.time()
        cpu1 = cpu_seconds(stack.pid)
        drained, waited = wait_drained(stack.base, timeout_s=drain_timeout_s)
    finally:
        record = sub.collect(settle_s=0.3)
    stopped = time.time()
    after = scrape(stack.base)
    produced = total(after, "dynhedge_signals_total") - total(before, "dynhedge_signals_total")
    server = histogram(after, "dynhedge_tick_to_signal_seconds").minus(
        histogram(before, "dynhedge_tick_to_signal_seconds"))
    return {
        **_percentiles_ms(record["latency_s"], int(produced) - len(record["latency_s"]),
                          stopped - sent_end),
        "signals": len(record["latency_s"]), "signals_produced": int(produced),
        "drained": drained, "drain_wait_s": waited, "ticks": sent.ticks, "accepted": sent.accepted,
        "rejected": sent.rejected, "errors": sent.errors, "rate": sent.ticks / seconds,
        "sender_max_behind_ms": sent.max_behind_s * 1e3,
        "server_tick_to_bus_p99_ms": server.quantile(0.99) * 1e3,
        "service_cpu_pct": 100.0 * (cpu1 - cpu0) / seconds, "load": load_average(),
    }


def throughput(stack: Any, underlyings: list[str], seconds: float, rate: float | None = None
               ) -> dict[str, Any]:
    """Frames of 100 ticks: as fast as acks come back (rate None) or paced at `rate`; the
    accepted rate and the risk lag histogram of the window."""
    from app.bench.service_e2e import send_max, send_paced
    from app.bench.service_metrics import histogram, scrape
    from app.bench.service_stack import cpu_seconds, load_average

    name = "dynhedge_risk_lag_seconds"
    before = scrape(stack.base)
    cpu0 = cpu_seconds(stack.pid)
    if rate is None:
        sent = send_max(stack, underlyings, seconds, per_frame=100, window=4)
    else:
        sent = send_paced(stack, underlyings, rate, seconds, per_frame=100)
    cpu1 = cpu_seconds(stack.pid)
    after = scrape(stack.base)
    lag = histogram(after, name).minus(histogram(before, name))
    recompute = histogram(after, "dynhedge_recompute_seconds").minus(
        histogram(before, "dynhedge_recompute_seconds"))
    return {
        "rate": sent.rate, "accepted": sent.accepted, "rejected": sent.rejected,
        "errors": sent.errors, "seconds": sent.seconds,
        "lag_p99_ms": lag.quantile(0.99) * 1e3, "lag_p50_ms": lag.quantile(0.5) * 1e3,
        "lag_p99_beyond_buckets": lag.beyond(0.99),
        "lag_p99_bucket_ms": [b * 1e3 for b in lag.bucket_of(0.99)],
        "lag_max_bucket_ms": lag.max_bucket() * 1e3, "lag_n": lag.total,
        "recomputes_per_s": recompute.total / sent.seconds if sent.seconds > 0 else math.nan,
        "recompute_mean_ms": recompute.mean * 1e3,
        "service_cpu_pct": 100.0 * (cpu1 - cpu0) / sent.seconds if sent.seconds > 0 else
        math.nan, "load": load_average(),
    }


def stack_rows(quick: bool) -> list[dict[str, Any]]:
    from app.bench.service_stack import load_book, rss_mb, start_service, stop_service

    rounds, e2e_s, max_s, drain_s = (1, 1.5, 1.5, 5.0) if quick else (3, 5.0, 6.0,
                                                                        DRAIN_TIMEOUT_S)
    stack = start_service()
    try:
        underlyings = load_book(stack, 50, 200, E2E_POLICY)
        rss_start = rss_mb(stack.pid)
        runs = [e2e_latency(stack, underlyings, 1_000.0, e2e_s, drain_s) for _ in range(rounds)]
        best = min(runs, key=lambda r: (math.isnan(r["p99_ms"]), r["p99_ms"]))
        common = {"rounds_p99_ms": [r["p99_ms"] for r in runs], "book": "50x200"}
        floor = " (at least: signals missing)" if best["lower_bound"] else ""
        rows = [
            {"section": SECTION, "name": "end-to-end tick->Redis subscriber p50, 1,000 ticks/s"
             + floor, "n": best["signals"], "value": best["p50_ms"], "unit": "ms",
             "reference": None, "ratio": None, "ok": None, **best, **common},
            {"section": SECTION, "name": "end-to-end tick->Redis subscriber p99, 1,000 ticks/s"
             + floor, "n": best["signals"], "value": best["p99_ms"], "unit": "ms",
             "reference": TARGET_E2E_P99_MS, "ratio": best["p99_ms"] / TARGET_E2E_P99_MS,
             "ok": best["p99_ms"] <= TARGET_E2E_P99_MS and not best["lower_bound"],
             **best, **common},
        ]
        rows.append(_bare_hop_row(stack, 1.0 if quick else 3.0))
        full = max((throughput(stack, underlyings, max_s) for _ in range(1 if quick else 2)),
                   key=lambda r: r["rate"])
        rows.append({"section": SECTION,
                     "name": "max tick rate, one WebSocket, frames of 100 (acks as back-pressure)",
                     "n": full["accepted"], "value": full["rate"], "unit": "ticks/s",
                     "reference": TARGET_RATE, "ratio": TARGET_RATE / full["rate"],
                     "ok": full["rate"] >= TARGET_RATE and _lag_held(full), **full})
        rows.append(_lag_row("risk lag p99 at max tick rate", full))
        if not quick:
            held = full if _lag_held(full) else _highest_rate_holding_lag(
                stack, underlyings, full["rate"])
            ok = _lag_held(held)
            name = ("max tick rate with risk lag p99 <= 50 ms" if ok else
                    "no rate tried held risk lag p99 <= 50 ms; the lowest tried")
            rows.append({"section": SECTION, "name": name, "n": held["accepted"],
                         "value": held["rate"], "unit": "ticks/s", "reference": TARGET_RATE,
                         "ratio": TARGET_RATE / held["rate"] if held["rate"] > 0 else math.inf,
                         "ok": ok and held["rate"] >= TARGET_RATE, **held})
            if held is not full:
                rows.append(_lag_row("risk lag p99 at that rate", held))
        rss_end = rss_mb(stack.pid)
        rows.append({"section": SECTION, "name": "service RSS after the runs (50x200 book)",
                     "n": 1, "value": rss_end, "unit": "MiB", "reference": None,
                     "ratio": None, "ok": None, "rss_start_mib": rss_start})
        return rows
    finally:
        stop_service(stack)


def _lag_row(name: str, r: dict[str, Any]) -> dict[str, Any]:
    beyond = r["lag_p99_beyond_buckets"]  # p99 past the last finite bucket: value is a floor
    return {"section": SECTION, "name": name + (" (at least: past the last bucket)" if beyond
                                                else ""),
            "n": int(r["lag_n"]), "value": r["lag_p99_ms"],
            "unit": "ms", "reference": TARGET_RISK_LAG_S * 1e3,
            "ratio": r["lag_p99_ms"] / (TARGET_RISK_LAG_S * 1e3),
            "ok": r["lag_p99_ms"] <= TARGET_RISK_LAG_S * 1e3 and not beyond,
            "max_bucket_ms": r["lag_max_bucket_ms"], "p99_bucket_ms": r["lag_p99_bucket_ms"],
            "at_rate": r["rate"]}


def _bare_hop_row(stack: Any, seconds: float) -> dict[str, Any]:
    """The floor under the end-to-end figure on this machine right now: redis-py PUBLISH
    at 1,000/s straight to the same kind of subscriber process, no service in between."""
    from app.bench.service_e2e import bare_redis_hop
    from app.bench.service_stack import load_average

    record = bare_redis_hop(stack.redis_url, 1_000.0, seconds)
    p = _percentiles_ms(record["latency_s"])
    return {"section": SECTION, "name": "floor: bare redis-py PUBLISH -> subscriber p99, "
            "1,000/s", "n": len(record["latency_s"]), "value": p["p99_ms"], "unit": "ms",
            "reference": None, "ratio": None, "ok": None, **p, "load": load_average()}


def _lag_held(r: dict[str, Any]) -> bool:
    return bool(r["lag_p99_ms"] <= TARGET_RISK_LAG_S * 1e3 and not r["lag_p99_beyond_buckets"])


def _highest_rate_holding_lag(stack: Any, underlyings: list[str], top: float
                              ) -> dict[str, Any]:
    """Paced runs (3 s each, at most 4) at falling fractions of the full-speed rate; the
    first that keeps the risk lag p99 within 50 ms. Bounded in count and time."""
    last: dict[str, Any] = {}
    for frac in (0.5, 0.25, 0.1, 0.03):
        rate = max(1_000.0, round(top * frac, -2))
        r = throughput(stack, underlyings, 3.0, rate=rate)
        last = r
        if _lag_held(r):
            return r
    return last


def run(quick: bool) -> list[dict[str, Any]]:
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    from app.pricing import warm_up

    warm_up()  # also fills numba's cache for the service subprocess
    rows = inproc_rows(quick)
    rows.extend(stack_rows(quick))
    return rows


if __name__ == "__main__":  # pragma: no cover
    for row in run(quick=False):
        print(row)
