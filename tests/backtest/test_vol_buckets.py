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
