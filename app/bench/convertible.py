"""Benchmark section `convertible`: Tsiveriotis–Fernandes convertibles on one core.

A book of 100 convertibles on one underlying (1-7 years, zero to 4 % coupons, 100-500 bp
spreads, hard and soft calls, puts; `convertible_book`), default grid (GridSpec()):
- a full re-solve of the book (price and all figures, the grids rebuilt): the issue's budget
  is 50 ms; `reference` for the rows below;
- the spot-only revaluation of the book from its solve (the tick path: interpolation), and
  the same plus the staleness check `needs_resolve` — the issue's tick budget is well under
  1 ms in-process; rows carry `us_per_tick`.
Rows: {section, name, n, value (convertibles/s), unit, reference, ratio, seconds_per_call}.
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
    rows = [_row("solve (full re-solve, all figures)", BOOK, full, None,
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
    return rows
