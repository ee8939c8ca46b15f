"""Books and runs shared by the backtest tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.backtest import CostModel, RunConfig, build_strategies, run_backtest, scenario_from_mapping
from app.backtest.report import summarize
from app.backtest.scenario import Scenario
from app.backtest.simulate import Outcome

NO_COSTS = CostModel(commission=0.0)


def one_call_book(
    quantity: float = 10_000, days: float = 365, rate: float = 0.0, div_yield: float = 0.0,
    vol: float = 0.2, kind: str = "call",
) -> Scenario:
    """One at-the-money option on a $100 stock expiring `days` calendar days after start."""
    start = 1_735_689_600.0  # 2025-01-01T00:00:00Z
    book: dict[str, Any] = {
        "start": start,
        "underlyings": {"XYZ": {"spot": 100.0, "rate": rate, "div_yield": div_yield,
                                "vol": vol}},
        "positions": [{"symbol": "OPT", "type": kind, "underlying": "XYZ", "strike": 100.0,
                       "expiry": start + days * 86_400.0, "quantity": quantity}],
    }
    return scenario_from_mapping(book)


def run(scenario: Scenario, spellings: list[str], **config: Any) -> list[dict[str, Any]]:
    cfg = RunConfig(**config)
    strategies = build_strategies(spellings, scenario, cfg.costs, cfg.n_steps)
    outcome = run_backtest(scenario, strategies, cfg)
    return summarize(strategies, outcome)


def two_stock_book() -> Scenario:
    """A short call on XYZ and a long put on ABC, 30 days: two underlyings, two seeds."""
    start = 1_735_689_600.0  # 2025-01-01T00:00:00Z
    expiry = start + 30 * 86_400.0
    return scenario_from_mapping({
        "start": start,
        "underlyings": {
            "XYZ": {"spot": 100.0, "rate": 0.03, "div_yield": 0.0, "vol": 0.2},
            "ABC": {"spot": 50.0, "rate": 0.03, "div_yield": 0.01, "vol": 0.3},
        },
        "positions": [
            {"symbol": "XYZ-C", "type": "call", "underlying": "XYZ", "strike": 100.0,
             "expiry": expiry, "quantity": -20},
            {"symbol": "ABC-P", "type": "put", "underlying": "ABC", "strike": 48.0,
             "expiry": expiry, "quantity": 30},
        ],
    })


def assert_same_bits(a: Outcome, b: Outcome) -> None:
    """Two outcomes equal bit for bit (every per-path figure, the sample, the start value)."""
    pairs = [("pnl", a.pnl, b.pnl), ("cost", a.cost, b.cost), ("trades", a.trades, b.trades),
             ("turnover", a.turnover, b.turnover), ("notional", a.notional, b.notional),
             ("spot_paths", a.spot_paths, b.spot_paths)]
    assert a.buckets.keys() == b.buckets.keys()
    pairs += [(f"bucket {k}", a.buckets[k], b.buckets[k]) for k in a.buckets]
    assert a.sample.keys() == b.sample.keys()
    pairs += [(f"sample {k}", a.sample[k], b.sample[k]) for k in a.sample]
    for name, x, y in pairs:
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), f"{name} differs"
    assert np.float64(a.initial_value).tobytes() == np.float64(b.initial_value).tobytes()
