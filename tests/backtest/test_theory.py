"""The backtest against theory in the Black-Scholes world (GBM, realized vol = implied)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.backtest import CostModel, RunConfig, build_strategies, load_book, run_backtest
from app.backtest.frontier import below_frontier, frontier_spellings
from app.backtest.report import summarize
from app.pricing import greeks

from .helpers import NO_COSTS, one_call_book, run


def start_vega(quantity: float = 10_000, days: float = 365, vol: float = 0.2) -> float:
    """$ per 1.00 vol of the whole position at the start."""
    g = greeks("call", 100.0, 100.0, days / 365.0, vol, 0.0)
    return float(g["vega"]) * quantity * 100


@pytest.mark.slow
def test_hedging_error_matches_derman_kamal_at_252_rebalances() -> None:
    rows = run(one_call_book(), ["interval:252"], n_paths=20_000, n_steps=252, seed=11,
               costs=NO_COSTS)
    expected = math.sqrt(math.pi / 4) * 0.2 * start_vega() / math.sqrt(252)
    assert rows[0]["std_pnl"] == pytest.approx(expected, rel=0.10)


def test_hedging_error_falls_like_one_over_root_n() -> None:
    rows = run(one_call_book(), ["interval:16", "interval:64", "interval:256"],
               n_paths=6_000, n_steps=256, seed=3, costs=NO_COSTS)
    std = [r["std_pnl"] for r in rows]
    assert std[0] / std[1] == pytest.approx(2.0, rel=0.10)
    assert std[1] / std[2] == pytest.approx(2.0, rel=0.10)


@pytest.mark.slow
def test_replication_converges_with_2000_rebalances() -> None:
    book = one_call_book(days=365, rate=0.03, div_yield=0.01)
    rows = run(book, ["interval:2000"], n_paths=3_000, n_steps=2_000, seed=5, costs=NO_COSTS)
    v0 = float(greeks("call", 100.0, 100.0, 1.0, 0.2, 0.03, 0.01)["price"]) * 1e6
    assert abs(rows[0]["mean_pnl"]) < 0.005 * v0
    assert rows[0]["hedge_error_mean_pct"] == pytest.approx(rows[0]["mean_pnl"] / v0 * 100)


def test_attribution_adds_up_to_the_pnl_and_explains_a_fine_hedge() -> None:
    book = one_call_book(days=30, rate=0.04)
    cfg = RunConfig(n_paths=2_000, n_steps=500, seed=2, costs=CostModel(commission=1.0))
    strategies = build_strategies(["interval:500", "none"], book, cfg.costs, cfg.n_steps)
    out = run_backtest(book, strategies, cfg)
    total = sum(out.buckets.values()) + out.unexplained
    np.testing.assert_allclose(total, out.pnl, rtol=0, atol=1e-6 * abs(out.initial_value))
    # gamma and theta offset each other; what Taylor misses is small
    hedged = np.abs(out.unexplained[0]).mean()
    assert hedged < 0.01 * np.abs(out.buckets["gamma"][0]).mean()
    np.testing.assert_allclose(out.buckets["costs"][0], -out.cost[0], rtol=5e-3)


def test_realized_vol_above_implied_costs_a_short_gamma_book_its_vega_gap() -> None:
    # short 10,000 calls x 100 priced at 20 %, the market realizes 25 %: the hedged book loses
    # about vega x (σ_r² − σ_i²) / (2 σ_i) (the gamma-scalping gap)
    book = one_call_book(quantity=-10_000, days=90)
    rows = run(book, ["interval:400"], n_paths=4_000, n_steps=400, seed=9, costs=NO_COSTS,
               realized_vol=0.25)
    vega = start_vega(quantity=10_000, days=90)
    expected = -vega * (0.25**2 - 0.2**2) / (2 * 0.2)
    assert rows[0]["mean_pnl"] == pytest.approx(expected, rel=0.15)


@pytest.mark.slow
def test_whalley_wilmott_lies_on_or_below_the_band_and_interval_frontier() -> None:
    book = load_book(None)
    costs = CostModel(commission=0.0, spread_bps=5.0)
    spellings = frontier_spellings(book, costs, 252)
    cfg = RunConfig(n_paths=4_000, n_steps=252, seed=21, costs=costs)
    strategies = build_strategies(spellings, book, costs, cfg.n_steps)
    rows = summarize(strategies, run_backtest(book, strategies, cfg))
    fixed = [(r["std_pnl"], r["mean_cost"]) for r in rows
             if r["name"].startswith(("band:", "interval:"))]
    ww = [r for r in rows if r["name"].startswith("whalley_wilmott:")]
    assert len(ww) >= 5
    for r in ww:
        assert below_frontier((r["std_pnl"], r["mean_cost"]), fixed), r["name"]
