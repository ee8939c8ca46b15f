"""The in-process half of the service benchmark: tick → signal through the synchronous
`Core` on a `ManualClock` (what the runner does before it hands a signal to the bus)."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.codec import dumps
from app.domain import Fill, ManualClock, Tick, instrument_from_fields
from app.domain.units import SECONDS_PER_DAY
from app.engine.core import Core
from app.hedging import HedgePolicy, Mode

SECTION = "service"
T0 = 1_798_761_600.0  # 2027-01-01T00:00:00Z: event time of the in-process runs
DT_S = 0.05  # event and wall clock step per tick in process: 20 ticks/s on one underlying
WARMUP_TICKS = 1_200  # fills the 60 s notional window at 20 signals/s
TARGET_INPROC_P99_US = 200.0  # for 1,000 options
TARGET_RAILS_RATIO = 1.2
BAND = HedgePolicy(mode=Mode.BAND, band=1.0, max_signals_per_s=1e9)
RAILS = HedgePolicy(mode=Mode.BAND, band=1.0, max_signals_per_s=1e9, max_order=1e6,
                    max_position=1e9, stale_after_s=60.0, max_notional_per_min=1e15,
                    reduce_only=False)
WW_RAILS = HedgePolicy(mode=Mode.WHALLEY_WILMOTT, band=1.0, cost_per_share=1e-4,
                       risk_aversion=1.0, max_signals_per_s=1e9, max_order=1e6,
                       max_position=1e9, stale_after_s=60.0, max_notional_per_min=1e15,
                       reduce_only=False)

# --- (a) in process ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InprocResult:
    p50_us: float
    p99_us: float
    p999_us: float
    max_us: float
    samples: int
    signals_per_tick: float
    cpu_p50_us: float | None = None  # the same ticks in the thread's CPU time (`cpu=True`)
    cpu_p99_us: float | None = None


def _core(n_underlyings: int, options_per: int, policy: HedgePolicy,
          **market: Any) -> tuple[Core, ManualClock]:
    """A core with `n_underlyings` of `options_per` options each; `market`: more parameters
    of each underlying (option_style, dividends, ...)."""
    from app.bench.service_stack import book_positions, root_of

    clock = ManualClock(T0)
    core = Core(clock)
    underlyings = [root_of(i) for i in range(n_underlyings)]
    for u in underlyings:
        core.set_underlying(u, rate=0.03, div_yield=0.01, vol=0.25, spot=100.0, as_of=T0,
                            **market)
    positions = _positions(underlyings, options_per) if options_per > 200 else \
        book_positions(underlyings, options_per)
    core.load_positions([(instrument_from_fields(p["symbol"], p), float(p["quantity"]))
                         for p in positions])
    for u in underlyings:
        core.set_policy(u, policy)
    core.recompute_all(list(core.dirty))
    return core, clock


def _positions(underlyings: list[str], n: int) -> list[dict[str, Any]]:
    """n long options per underlying with explicit fields (more than OCC strikes allow):
    strikes 60..140, expiries 1 week .. 2 years after T0, calls and puts."""
    rng = np.random.default_rng(7)
    out = []
    for u in underlyings:
        strikes = np.round(rng.uniform(60.0, 140.0, n), 2)
        days = rng.uniform(7.0, 730.0, n)
        for i in range(n):
            out.append({"symbol": f"{u}-{i}", "type": "call" if i % 2 else "put",
                        "underlying": u, "strike": float(strikes[i]),
                        "expiry": T0 + float(days[i]) * SECONDS_PER_DAY,
                        "quantity": float(1 + i % 9)})
    return out


def measure_inproc(options: int, policy: HedgePolicy, samples: int, warmup: int = WARMUP_TICKS,
                   n_underlyings: int = 1, **market: Any) -> InprocResult:
    """Tick → signal bytes on one underlying (the first of `n_underlyings`, each holding
    `options` options). See the module docstring for what is timed."""
    core, clock = _core(n_underlyings, options, policy, **market)
    return measure_core(core, clock, samples, warmup)


def measure_core(core: Core, clock: ManualClock, samples: int,
                 warmup: int = WARMUP_TICKS, cpu: bool = False) -> InprocResult:
    """Tick → signal bytes on the first underlying of a loaded `core` whose clock is
    `clock`: ticks alternate 99 / 101, DT_S apart, and the bot fills each signal at the next
    tick (so one signal is pending at each tick). `cpu`: also each tick's thread CPU time,
    which a machine busy with other work inflates far less than the wall time."""
    u = next(iter(sorted(core.book.markets)))
    hedge = instrument_from_fields(core.book.markets[u].hedge.instrument, {})
    apply_tick, recompute, now_ns = core.apply_tick, core.recompute, time.perf_counter_ns
    lat = np.empty(samples, dtype=np.int64)
    cpu_lat = np.zeros(samples, dtype=np.int64)
    cpu_ns = time.thread_time_ns if cpu else _zero_ns
    signals = 0
    prev: list[Any] = []
    fill_no = 0
    gc.collect()
    for i in range(warmup + samples):
        clock.advance(DT_S)
        ts = clock.now()
        tick = Tick(u, ts, ts, 99.0 if i % 2 else 101.0)
        c0 = cpu_ns()
        t0 = now_ns()
        sigs = recompute(apply_tick(tick))
        for s in sigs:
            dumps(s.as_message())
        t1 = now_ns()
        c1 = cpu_ns()
        if i >= warmup:
            lat[i - warmup] = t1 - t0
            cpu_lat[i - warmup] = c1 - c0
            signals += len(sigs)
        # the bot fills the previous signal now: one signal is always pending at the tick
        for s in prev:
            fill_no += 1
            core.apply_fill(Fill(f"b{fill_no}", hedge.symbol, s.side, s.quantity, 100.0, ts,
                                 s.id), hedge)
        prev = sigs
    us = lat / 1e3
    p50, p99, p999 = np.percentile(us, [50, 99, 99.9])
    cpu_p50, cpu_p99 = (float(x) for x in np.percentile(cpu_lat / 1e3, [50, 99]))
    return InprocResult(float(p50), float(p99), float(p999), float(us.max()), samples,
                        signals / samples, cpu_p50 if cpu else None, cpu_p99 if cpu else None)


def _zero_ns() -> int:
    return 0


def _inproc_row(name: str, options: int, r: InprocResult, reference: float | None,
                **extra: Any) -> dict[str, Any]:
    return {"section": SECTION, "name": name, "n": r.samples, "value": r.p99_us, "unit": "µs",
            "reference": reference,
            "ratio": None if reference is None else r.p99_us / reference,
            "ok": None if reference is None else r.p99_us <= reference,
            "options": options, "p50_us": r.p50_us, "p99_us": r.p99_us, "p999_us": r.p999_us,
            "max_us": r.max_us, "signals_per_tick": r.signals_per_tick, **extra}


def _best(results: list[InprocResult]) -> InprocResult:
    return min(results, key=lambda r: r.p99_us)


def inproc_rows(quick: bool) -> list[dict[str, Any]]:
    """Each 1,000-option configuration runs in `rounds` rounds, interleaved (band, rails,
    W-W, band, …) so that a noisy moment on a shared machine hits them alike; the best
    round's p99 is reported (all rounds are in `rounds_p99_us`)."""
    samples, warmup, rounds = (300, 200, 1) if quick else (2_000, WARMUP_TICKS, 3)
    rows: list[dict[str, Any]] = []
    runs: dict[str, list[InprocResult]] = {"band": [], "rails": [], "ww": []}
    for _ in range(rounds):
        for key, policy in (("band", BAND), ("rails", RAILS), ("ww", WW_RAILS)):
            runs[key].append(measure_inproc(1_000, policy, samples, warmup))
    band_1k, rails, ww = _best(runs["band"]), _best(runs["rails"]), _best(runs["ww"])
    for n in (100, 1_000, 10_000):
        if n == 1_000:
            r, extra = band_1k, {"rounds_p99_us": [x.p99_us for x in runs["band"]]}
        else:
            r, extra = measure_inproc(n, BAND, samples, warmup), {}
        rows.append(_inproc_p50_row(f"in-process tick->signal p50, band, {n:,} options", n, r))
        rows.append(_inproc_row(f"in-process tick->signal p99, band, {n:,} options", n, r,
                                TARGET_INPROC_P99_US if n == 1_000 else None, **extra))
    rows.append(_inproc_row("in-process tick->signal p99, every rail, 1,000 options", 1_000,
                            rails, None, rounds_p99_us=[x.p99_us for x in runs["rails"]]))
    ratio = rails.p99_us / band_1k.p99_us
    rows.append({"section": SECTION, "name": "every-rail p99 / band-only p99, 1,000 options",
                 "n": samples, "value": ratio, "unit": "x", "reference": TARGET_RAILS_RATIO,
                 "ratio": ratio / TARGET_RAILS_RATIO, "ok": ratio <= TARGET_RAILS_RATIO})
    rows.append(_inproc_row("in-process tick->signal p99, whalley_wilmott + every rail, "
                            "1,000 options", 1_000, ww, None,
                            rounds_p99_us=[x.p99_us for x in runs["ww"]]))
    big = measure_inproc(200, BAND, samples // 2, warmup // 2, n_underlyings=50)
    rows.append(_inproc_row("in-process tick->signal p99, band, 200 options of a 50x200 book",
                            200, big, None, book="50x200"))
    return rows


def _inproc_p50_row(name: str, options: int, r: InprocResult) -> dict[str, Any]:
    return {"section": SECTION, "name": name, "n": r.samples, "value": r.p50_us, "unit": "µs",
            "reference": None, "ratio": None, "ok": None, "options": options}
