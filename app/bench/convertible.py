"""Benchmark section `convertible`: Tsiveriotis–Fernandes convertibles on one core.

A book of 100 convertibles on one underlying (1-7 years, zero to 4 % coupons, 100-500 bp
spreads, hard and soft calls, puts; `convertible_book`), default grid (GridSpec()):
- a full re-solve of the book (price and all figures, the grids rebuilt): the issue's budget
  is 50 ms; `reference` for the rows below;
- the spot-only revaluation of the book from its solve (the tick path: interpolation), and
  the same plus the staleness check `needs_resolve` — the issue's tick budget is well under
  1 ms in-process; rows carry `us_per_tick`;
- the same book in the service's core (`app.book.convertibles`: dates, a band policy): the
  full re-solve a book change makes (terms from dates, pack, solve), and the in-process
  tick → signal latency measured as `app.bench.service_inproc` does (grids reused: ticks
  alternate 99 / 101 within the reuse band, 20 a second of event time), p99 against 1 ms
  (the row also carries the p50 and p99 of the same ticks in thread CPU time, which other
  work on the machine inflates far less than the wall time);
- the convertible-arbitrage backtest of docs/backtest/convertible_arb.json (100 bonds, Merton
  paths with spreads widening on down-jumps, 5,000 paths × 63 steps, 3 strategies): seconds
  of simulation (`app.backtest.convertibles`: a solve per block, an interpolation per path).
Rows: {section, name, n, value (convertibles/s), unit, reference, ratio, seconds_per_call};
the tick row {value: p99 µs, reference 1,000 µs, p50_us, p999_us, ...}.
Timing: best of several samples (app.bench.pricing.best_seconds); the solve rows also carry
`cpu_ms_per_solve`, the best process CPU time of a solve, which a machine shared with other
work inflates less than the wall time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from app.bench.pricing import best_seconds

SECTION = "convertible"
BOOK = 100
TARGET_SOLVE_S = 0.050  # a full re-solve of 100 convertibles (issue 16)
TARGET_TICK_P99_US = 1_000.0  # in-process tick -> signal with 100 convertibles


def convertible_book(n: int, seed: int = 7) -> list[Any]:
    """n convertibles on one underlying, a mix of the shapes a convertible desk holds."""
    from app.pricing.convertible import ConvertibleTerms

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        maturity = float(rng.uniform(1.0, 7.0))
        kind = int(rng.integers(3))
        calls: tuple[tuple[float, ...], ...] = ()
        if kind == 1 and maturity > 2.5:
            calls = ((2.0, maturity, 1000.0),)
        elif kind == 2 and maturity > 1.5:
            calls = ((1.0, maturity, 1000.0, 1.3),)
        puts = ((float(rng.uniform(0.5, maturity)), 1000.0),) if rng.random() < 0.3 else ()
        out.append(ConvertibleTerms(
            conversion_ratio=float(rng.uniform(6.0, 12.0)), maturity=maturity,
            coupon_rate=float(rng.choice([0.0, 0.0, 0.01, 0.02, 0.03, 0.04])),
            coupon_frequency=2, credit_spread=float(rng.uniform(0.01, 0.05)),
            call_schedule=calls, put_schedule=puts))
    return out


def best_cpu_seconds(fn: Callable[[], object], quick: bool) -> float:
    """Best process CPU time of one call over several samples."""
    best = float("inf")
    for _ in range(3 if quick else 10):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def _row(name: str, n: int, seconds: float, reference: float | None,
         **extra: Any) -> dict[str, Any]:
    value = n / seconds
    ref = None if reference is None else n / reference
    return {"section": SECTION, "name": name, "n": n, "value": value,
            "unit": "convertibles/s", "reference": ref,
            "ratio": None if ref is None else value / ref, "seconds_per_call": seconds,
            **extra}


def run(quick: bool) -> list[dict[str, Any]]:
    """Full re-solve of 100 convertibles, one convertible, and the per-tick revaluation."""
    from app.pricing.convertible import (
        FIGURE_NAMES,
        needs_resolve,
        pack,
        revalue_into,
        solve,
        warm_up_convertible,
    )

    warm_up_convertible()
    batch = pack(convertible_book(BOOK))
    market = (100.0, 0.3, 0.04, 0.01)
    full = best_seconds(partial(solve, batch, *market), quick)
    cpu = best_cpu_seconds(partial(solve, batch, *market), quick)
    rows = [_row("solve (full re-solve, all figures)", BOOK, full, TARGET_SOLVE_S,
                 ms_per_solve=full * 1e3, cpu_ms_per_solve=cpu * 1e3)]
    one = pack(convertible_book(1, seed=3))
    single = best_seconds(partial(solve, one, *market), quick)
    rows.append(_row("solve, one convertible", 1, single, None, ms_per_solve=single * 1e3,
                     cpu_ms_per_solve=best_cpu_seconds(partial(solve, one, *market),
                                                       quick) * 1e3))

    state = solve(batch, *market)
    out = np.empty((len(FIGURE_NAMES), BOOK))
    tick = best_seconds(partial(revalue_into, state, 100.7, out), quick)
    rows.append(_row("revalue (spot only, grids reused)", BOOK, tick, full,
                     us_per_tick=tick * 1e6))

    def tick_and_check() -> None:
        revalue_into(state, 100.7, out)
        needs_resolve(state, 100.7, 0.3, 0.04, 0.01, t_elapsed=1e-4)

    checked = best_seconds(tick_and_check, quick)
    rows.append(_row("revalue + needs_resolve", BOOK, checked, full,
                     us_per_tick=checked * 1e6))
    rows.extend(service_rows(quick))
    rows.append(backtest_row(quick))
    return rows


def backtest_row(quick: bool) -> dict[str, Any]:
    """Seconds of the convertible-arbitrage backtest (best of 3, 1 when quick)."""
    from pathlib import Path

    from app.backtest import CostModel, RunConfig, build_strategies, load_book, run_backtest
    from app.backtest.convertibles import CreditParams

    book = load_book(Path(__file__).resolve().parents[2] / "docs/backtest/convertible_arb.json")
    paths, steps = (1_000, 63) if quick else (5_000, 63)
    cfg = RunConfig(model="merton", n_paths=paths, n_steps=steps, seed=7,
                    costs=CostModel(commission=0.0, per_share=0.005),
                    credit=CreditParams(0.02))
    strategies = build_strategies(["interval:63", "band:50", "none"], book, cfg.costs, steps)
    best = min(run_backtest(book, strategies, cfg).seconds for _ in range(1 if quick else 3))
    return {"section": SECTION, "name": f"convertible-arbitrage backtest, {paths:,} paths x "
            f"{steps} steps, 3 strategies", "n": paths * steps, "value": best, "unit": "s",
            "reference": None, "ratio": None, "seconds_per_call": best}


def convertible_positions(n: int, underlying: str, t0: float) -> list[dict[str, Any]]:
    """`convertible_book(n)` as position items of PUT /v1/positions (dates valued from t0,
    10 bonds each)."""
    from app.domain.units import SECONDS_PER_YEAR

    def at(years: float) -> float:
        return t0 + years * SECONDS_PER_YEAR

    out = []
    for i, t in enumerate(convertible_book(n)):
        out.append({
            "symbol": f"{underlying}-CB{i}", "type": "convertible", "underlying": underlying,
            "quantity": 10.0, "conversion_ratio": t.conversion_ratio,
            "maturity": at(t.maturity), "coupon_rate": t.coupon_rate,
            "coupon_frequency": t.coupon_frequency, "credit_spread": t.credit_spread,
            "call_schedule": [{"from": at(a), "to": at(b), "price": price, "trigger": trigger}
                              for a, b, price, trigger in t.call_schedule],
            "put_schedule": [{"date": at(d), "price": price} for d, price in t.put_schedule]})
    return out


def service_rows(quick: bool) -> list[dict[str, Any]]:
    """The book in the service's core: a full re-solve through the group, and tick → signal."""
    from app.bench.service_inproc import BAND, T0, WARMUP_TICKS, InprocResult, measure_core
    from app.domain import ManualClock, instrument_from_fields
    from app.engine.core import Core

    def loaded() -> tuple[Core, ManualClock]:
        clock = ManualClock(T0)
        core = Core(clock)
        core.set_underlying("XYZ", rate=0.04, div_yield=0.01, vol=0.3, spot=100.0, as_of=T0)
        core.load_positions([(instrument_from_fields(p["symbol"], p), p["quantity"])
                             for p in convertible_positions(BOOK, "XYZ", T0)])
        core.set_policy("XYZ", BAND)
        core.recompute_all(list(core.dirty))
        return core, clock

    core, _ = loaded()
    group = core.book.convertibles["XYZ"]
    market = core.book.markets["XYZ"]

    def resolve_all() -> None:
        group.state = None  # what a book change does: every bond solved from its dates
        group.refresh(100.0, T0, market)

    full = best_seconds(resolve_all, quick)
    rows = [_row("book re-solve in the core (terms from dates, pack, solve)", BOOK, full,
                 TARGET_SOLVE_S, ms_per_solve=full * 1e3)]
    samples, warmup, rounds = (300, 200, 1) if quick else (2_000, WARMUP_TICKS, 3)
    runs: list[InprocResult] = []
    for _ in range(rounds):
        core, clock = loaded()
        runs.append(measure_core(core, clock, samples, warmup, cpu=True))
    best = min(runs, key=lambda r: r.p99_us)
    rows.append({
        "section": SECTION, "name": "in-process tick->signal p99, band, 100 convertibles",
        "n": best.samples, "value": best.p99_us, "unit": "µs",
        "reference": TARGET_TICK_P99_US, "ratio": best.p99_us / TARGET_TICK_P99_US,
        "ok": best.p99_us <= TARGET_TICK_P99_US, "convertibles": BOOK,
        "p50_us": best.p50_us, "p99_us": best.p99_us, "p999_us": best.p999_us,
        "max_us": best.max_us, "signals_per_tick": best.signals_per_tick,
        "cpu_p50_us": best.cpu_p50_us, "cpu_p99_us": best.cpu_p99_us,
        "resolves": int(np.count_nonzero(core.book.convertibles["XYZ"].stale)),
        "rounds_p99_us": [r.p99_us for r in runs]})
    return rows
