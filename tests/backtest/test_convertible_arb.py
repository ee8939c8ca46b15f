"""Convertible arbitrage in the backtester (issue 16): long convertibles, short stock.

With no credit moves and the market realizing more vol than the bond is priced at, the hedged
book earns the gamma-scalping P&L the conversion option predicts, ½ Γ S² (σ_r² − σ_i²) dt
summed along the paths; with spreads that widen on down-jumps, the known failure shows in the
P&L and in its credit bucket."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.backtest import RunConfig, build_strategies, scenario_from_mapping
from app.backtest.convertibles import BondMarks, CreditParams, spread_paths
from app.backtest.markets import JumpParams, gbm_paths, merton_paths, time_grid
from app.backtest.run import run_backtest
from app.backtest.simulate import run_underlying
from app.domain.units import SECONDS_PER_YEAR

from .helpers import NO_COSTS

START = 1_735_689_600.0  # 2025-01-01T00:00:00Z
DAY = 86_400.0


def cb_book(spread: float = 0.0, coupon: float = 0.02, div_yield: float = 0.0,
            end_days: float = 91.0, spot: float = 100.0, ratio: float = 10.0) -> Any:
    """100 bonds (face 1,000, conversion price 100) maturing in two years, no stock yet."""
    return scenario_from_mapping({
        "start": START, "end": START + end_days * DAY,
        "underlyings": {"XYZ": {"spot": spot, "rate": 0.03, "div_yield": div_yield,
                                "vol": 0.20}},
        "positions": [{"symbol": "CB", "type": "convertible", "underlying": "XYZ",
                       "quantity": 100, "conversion_ratio": ratio,
                       # a coupon falls inside the run: 2 years back from maturity in halves
                       "maturity": START + 730 * DAY - 30 * DAY, "coupon_rate": coupon,
                       "coupon_frequency": 2, "credit_spread": spread}]})


def test_a_convertible_is_a_bond_holding_not_stock():
    [u] = cb_book().underlyings
    assert u.delta_one == 0.0 and u.legs.size == 0
    [b] = u.convertibles
    assert b.quantity == 100 and b.spec.conversion_ratio == 10.0


def test_with_no_credit_moves_the_hedged_book_earns_the_gamma_scalping_pnl():
    scenario = cb_book(spread=0.0)
    [u] = scenario.underlyings
    steps, sigma_r = 50, 0.30
    times = time_grid(scenario.start, scenario.end, steps)
    market = gbm_paths(np.random.default_rng(4), u.spot, u.rate, sigma_r, times, 5_000)
    strategies = build_strategies([f"interval:{steps}"], scenario, NO_COSTS, steps)
    out = run_underlying(u, strategies, market, NO_COSTS)
    # what the option part predicts on the same paths: ½ Γ S² (σ_r² − σ_i²) dt, grown at r
    marks = BondMarks(u.convertibles, market, np.zeros_like(market.spot), u.vol, u.rate,
                      u.div_yield)
    predicted = np.zeros(market.n_paths)
    for i in range(steps):
        dt = (times[i + 1] - times[i]) / SECONDS_PER_YEAR
        gamma = marks(i).gamma
        predicted = predicted * np.exp(u.rate * dt) + 0.5 * gamma * market.spot[i] ** 2 * (
            sigma_r**2 - u.vol**2) * dt
    assert predicted.mean() > 500.0  # a real effect: hundreds of $ on the book
    assert out.pnl[0].mean() == pytest.approx(predicted.mean(), rel=0.10)
    # the coupon paid inside the run is cash: nothing is left unexplained by it
    assert abs(out.unexplained[0].mean()) < 0.02 * 100 * 10.0
    assert out.buckets["credit"][0].max() == out.buckets["credit"][0].min() == 0.0


def test_spreads_widening_on_down_jumps_is_the_strategys_failure():
    scenario = cb_book(spread=0.03)
    [u] = scenario.underlyings
    steps = 50
    times = time_grid(scenario.start, scenario.end, steps)
    jumps = JumpParams(intensity=4.0, mean=-0.10, std=0.03)
    market = merton_paths(np.random.default_rng(9), u.spot, u.rate, u.vol, times, 2_000, jumps)
    strategies = build_strategies([f"interval:{steps}"], scenario, NO_COSTS, steps)
    calm = run_underlying(u, strategies, market, NO_COSTS, credit=CreditParams(0.0))
    stress = run_underlying(u, strategies, market, NO_COSTS, credit=CreditParams(0.02))
    widened = spread_paths(market, CreditParams(0.02))[-1]
    hit = widened > 0
    assert 0.3 < hit.mean() < 0.9
    credit = stress.buckets["credit"][0]
    assert (credit[~hit] == 0.0).all() and (credit[hit] < 0.0).all()
    assert (calm.buckets["credit"][0] == 0.0).all()
    loss = stress.pnl[0] - calm.pnl[0]
    assert (loss[~hit] == 0.0).all()  # the same paths, the same trades without a widening
    assert loss[hit].mean() < -1_000.0  # 200 bp on ~50 % of the bonds' value, or more
    # the credit bucket explains most of it (the rest: the bond's delta and gamma moved too)
    assert credit[hit].mean() == pytest.approx(loss[hit].mean(), rel=0.25)


def test_the_cli_config_moves_spreads_only_with_jumps():
    scenario = cb_book(spread=0.03)
    cfg = RunConfig(model="gbm", n_paths=200, n_steps=20, seed=1, costs=NO_COSTS,
                    credit=CreditParams(0.05))
    strategies = build_strategies(["interval:20", "none"], scenario, cfg.costs, cfg.n_steps)
    out = run_backtest(scenario, strategies, cfg)
    assert (out.buckets["credit"] == 0.0).all()  # gbm has no jumps: no credit move
    total = sum(out.buckets.values()) + out.unexplained
    np.testing.assert_allclose(total, out.pnl, atol=1e-6 * abs(out.initial_value))


def test_a_bond_the_model_converts_becomes_shares_and_its_dividends_cash():
    # deep in the money with a 10 % dividend yield and no coupon: converting beats holding
    scenario = cb_book(coupon=0.0, div_yield=0.10, spot=200.0)
    [u] = scenario.underlyings
    times = time_grid(scenario.start, scenario.end, 10)
    market = gbm_paths(np.random.default_rng(2), u.spot, 0.0, 0.01, times, 50)
    marks = BondMarks(u.convertibles, market, np.zeros_like(market.spot), u.vol, u.rate,
                      u.div_yield)
    first = marks(0)
    assert marks.converted.all()
    np.testing.assert_allclose(first.value, 100 * 10 * market.spot[0])
    np.testing.assert_allclose(first.delta, 1_000.0)
    assert (first.gamma == 0).all() and (first.credit == 0).all()
    second = marks(1)
    dt = (times[1] - times[0]) / SECONDS_PER_YEAR
    np.testing.assert_allclose(second.cash, 1_000 * market.spot[0] * np.expm1(0.10 * dt))
    np.testing.assert_allclose(second.carry, second.cash)


def test_a_convertible_book_is_refused_on_a_market_that_moves_its_vol():
    from app.errors import InvalidInput

    scenario = cb_book()
    cfg = RunConfig(model="heston", n_paths=10, n_steps=5, costs=NO_COSTS)
    strategies = build_strategies(["none"], scenario, cfg.costs, cfg.n_steps)
    with pytest.raises(InvalidInput, match="flat vol"):
        run_backtest(scenario, strategies, cfg)
