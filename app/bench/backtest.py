"""Benchmark section `backtest`: the backtester's speed.

The target from the issue: 10,000 paths × 252 steps × 5 strategies on a 100-option book in
under 10 s, vectorized across paths (the book is priced once per step and path and shared by
every strategy). `quick` runs 2,000 paths against a 2 s reference (the same rate).
Rows: {section, name, n, value, unit, reference, ratio}; ratio = value / reference (for the
time < 1 is within the target; for the valuation rate > 1 is).
"""

from __future__ import annotations

import time
from typing import Any

from app.backtest import CostModel, RunConfig, build_strategies, run_backtest
from app.backtest.scenario import DEFAULT_BOOK, Scenario, scenario_from_mapping

SECTION = "backtest"
STRATEGIES = ("interval:252", "static", "none", "band:500", "whalley_wilmott:0.001")
EXPIRIES = ("2025-01-31", "2025-02-28", "2025-03-21", "2025-04-17", "2025-06-20")


def hundred_option_book() -> Scenario:
    """100 options on one $100 stock: 5 expiries × 20 strikes from 80 to 118, calls and puts
    alternating, long and short, all at the start 2025-01-06 close."""
    positions = []
    for expiry in EXPIRIES:
        for j in range(20):
            strike = 80.0 + 2.0 * j
            positions.append({
                "symbol": f"XYZ-{expiry}-{strike:g}-{'C' if j % 2 else 'P'}",
                "type": "call" if j % 2 else "put", "underlying": "XYZ", "strike": strike,
                "expiry": expiry, "quantity": (j % 7) - 3.5,
            })
    return scenario_from_mapping({
        "start": DEFAULT_BOOK["start"],
        "underlyings": {"XYZ": {"spot": 100.0, "rate": 0.04, "div_yield": 0.01, "vol": 0.25}},
        "positions": positions,
    })


def _time_run(book: Scenario, n_paths: int, n_steps: int) -> float:
    cfg = RunConfig(n_paths=n_paths, n_steps=n_steps, seed=1,
                    costs=CostModel(commission=1.0, spread_bps=2.0))
    strategies = build_strategies(list(STRATEGIES), book, cfg.costs, n_steps)
    began = time.perf_counter()
    run_backtest(book, strategies, cfg)
    return time.perf_counter() - began


def run(quick: bool) -> list[dict[str, Any]]:
    book = hundred_option_book()
    assert book.underlyings[0].legs.size == 100
    _time_run(book, 16, 252)  # compile / warm the pricing kernel outside the timing
    paths, steps = (2_000, 252) if quick else (10_000, 252)
    reference = 10.0 * paths / 10_000
    seconds = _time_run(book, paths, steps)
    evaluations = 100 * paths * (steps + 1)
    return [
        {"section": SECTION, "name": f"{paths:,} paths x {steps} steps x 5 strategies, "
         "100-option book", "n": paths, "value": seconds, "unit": "s",
         "reference": reference, "ratio": seconds / reference},
        {"section": SECTION, "name": "option valuations per second (book shared by strategies)",
         "n": evaluations, "value": evaluations / seconds / 1e6, "unit": "M/s",
         "reference": 100 * 10_000 * 253 / 10.0 / 1e6,
         "ratio": (evaluations / seconds) / (100 * 10_000 * 253 / 10.0)},
    ]


if __name__ == "__main__":  # pragma: no cover
    for row in run(quick=False):
        print(row)
