"""Books beyond the worked example: several underlyings, options on futures."""

from __future__ import annotations

import numpy as np
import pytest

from app.backtest import RunConfig, build_strategies, run_backtest, scenario_from_mapping

from .helpers import NO_COSTS

START = "2025-01-06T21:00:00Z"
XYZ = {"spot": 100.0, "rate": 0.04, "div_yield": 0.01, "vol": 0.25}


def book(underlyings: dict, positions: list) -> object:
    return scenario_from_mapping({"start": START, "underlyings": underlyings,
                                  "positions": positions})


def test_an_underlying_without_positions_adds_nothing_and_moves_no_other_path() -> None:
    calls = [{"symbol": "XYZ   250321C00105000", "quantity": -50}]
    alone = book({"XYZ": XYZ}, calls)
    with_empty = book({"XYZ": XYZ, "ABC": {"spot": 20.0, "vol": 0.4}}, calls)
    cfg = RunConfig(n_paths=500, n_steps=50, seed=3)
    out = []
    for b in (alone, with_empty):
        strategies = build_strategies(["band:200", "interval:10"], b, cfg.costs, cfg.n_steps)
        out.append(run_backtest(b, strategies, cfg))
    np.testing.assert_array_equal(out[0].pnl, out[1].pnl)


def test_two_underlyings_add_their_pnl_and_hedge_each_on_its_own() -> None:
    both = book({"XYZ": XYZ, "ABC": {"spot": 20.0, "rate": 0.04, "vol": 0.4}},
                [{"symbol": "XYZ   250321C00105000", "quantity": -50},
                 {"symbol": "ABC   250221P00020000", "quantity": 200}])
    cfg = RunConfig(n_paths=400, n_steps=60, seed=4)
    strategies = build_strategies(["none", "interval:30"], both, cfg.costs, cfg.n_steps)
    out = run_backtest(both, strategies, cfg)
    assert out.trades[1].mean() > 40  # both underlyings rebalance
    assert out.pnl[1].std() < 0.3 * out.pnl[0].std()


def test_options_on_a_future_replicate_with_a_futures_hedge() -> None:
    fut = book({"ES": {"spot": 5000.0, "rate": 0.04, "vol": 0.18}},
               [{"symbol": "ESH5", "type": "future", "underlying": "ES", "multiplier": 50,
                 "quantity": 0},
                {"symbol": "ES-5000-C", "type": "call", "underlying": "ES", "strike": 5000,
                 "expiry": "2025-03-21", "multiplier": 50, "quantity": -200}])
    (u,) = fut.underlyings
    assert u.is_future and u.model == "black76"
    cfg = RunConfig(n_paths=2_000, n_steps=500, seed=5, costs=NO_COSTS)
    strategies = build_strategies(["interval:500", "none"], fut, cfg.costs, cfg.n_steps)
    out = run_backtest(fut, strategies, cfg)
    v0 = abs(out.initial_value)
    assert abs(out.pnl[0].mean()) < 0.01 * v0
    assert out.pnl[0].std() < 0.1 * out.pnl[1].std()
    assert out.pnl[1].mean() == pytest.approx(0.0, abs=4 * out.pnl[1].std() / np.sqrt(2_000))
