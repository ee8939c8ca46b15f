"""The backtest's attribution is the live service's (`app.pnl.predict`): when the market's vol
moves (Heston), vanna and volga buckets take their share out of the unexplained rest."""

from __future__ import annotations

import numpy as np

from app.backtest import RunConfig, build_strategies, run_backtest

from .helpers import NO_COSTS, one_call_book


def outcome(model: str):  # type: ignore[no-untyped-def]
    cfg = RunConfig(model=model, n_paths=2_000, n_steps=100, seed=5, costs=NO_COSTS)
    scenario = one_call_book()
    strategies = build_strategies(["interval:100"], scenario, cfg.costs, cfg.n_steps)
    return run_backtest(scenario, strategies, cfg)


def test_a_moving_vol_gets_vanna_and_volga_buckets_that_shrink_the_unexplained():
    out = outcome("heston")
    assert {"vanna", "volga"} <= set(out.buckets)
    rest = np.abs(out.unexplained[0])
    without = np.abs(out.unexplained[0] + out.buckets["vanna"][0] + out.buckets["volga"][0])
    assert np.median(rest) < 0.25 * np.median(without)  # ~0.07 on these paths
    assert np.abs(out.buckets["volga"][0]).mean() > 0


def test_a_flat_vol_has_no_vol_buckets():
    assert not {"vanna", "volga"} & set(outcome("gbm").buckets)


def test_explain_steps_sum_to_the_options_revaluation_on_every_path():
    from app.backtest.markets import heston_paths
    from app.backtest.simulate import run_underlying

    cfg = RunConfig(model="heston", n_paths=500, n_steps=50, seed=9, costs=NO_COSTS,
                    explain=True)
    scenario = one_call_book()
    strategies = build_strategies(["interval:50"], scenario, cfg.costs, cfg.n_steps)
    out = run_backtest(scenario, strategies, cfg)
    assert set(out.explain) == {"time", "spot", "vol"}
    total = out.explain["time"] + out.explain["spot"] + out.explain["vol"]
    # the book holds to the end: the steps telescope to its value change over the run
    u = scenario.underlyings[0]
    market = heston_paths(np.random.default_rng(np.random.SeedSequence(9).spawn(1)[0]),
                          u.spot, u.rate - u.div_yield, u.vol,
                          np.linspace(scenario.start, scenario.end, 51), 500, cfg.heston,
                          scenario.end)
    again = run_underlying(u, strategies, market, cfg.costs, explain=True)
    assert np.allclose(again.explain["spot"], out.explain["spot"])  # the same paths
    from app.pricing import greeks

    def book_value(i: int) -> np.ndarray:
        t = np.maximum(u.legs.expiry - market.times[i], 0.0) / (365 * 86_400.0)
        g = greeks("call", market.spot[i][None, :], u.legs.strike[:, None], t[:, None],
                   market.vol[i][None, :], u.rate, u.div_yield)
        return np.asarray(u.legs.weight @ np.asarray(g["price"]))

    change = book_value(50) - book_value(0)
    np.testing.assert_allclose(total[0], change, rtol=1e-9, atol=1e-6 * np.abs(change).max())
    # spot moves carry most of a call's value change; time decays it
    assert np.median(out.explain["time"]) < 0
    assert np.abs(out.explain["vol"]).mean() > 0
    assert not run_backtest(scenario, strategies, RunConfig(
        model="gbm", n_paths=50, n_steps=10, costs=NO_COSTS)).explain
