"""American options in the backtester: priced on exercise boundaries along the paths, exercised
where the model says (the P&L shows the exercise), hedged as the live engine would."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.backtest import CostModel, RunConfig, build_strategies, run_backtest, scenario_from_mapping
from app.backtest.report import summarize
from app.errors import InvalidInput
from app.pricing import greeks

START = 1_735_689_600.0  # 2025-01-01T00:00:00Z
NO_COSTS = CostModel(commission=0.0)


def put_book(style: str | None, quantity: float = 100.0, rate: float = 0.08,
             strike: float = 110.0, option_style: str | None = None) -> Any:
    under: dict[str, Any] = {"spot": 100.0, "rate": rate, "div_yield": 0.0, "vol": 0.25}
    if option_style is not None:
        under["option_style"] = option_style
    position: dict[str, Any] = {"symbol": "P", "type": "put", "underlying": "XYZ",
                                "strike": strike, "expiry": START + 365 * 86_400.0,
                                "quantity": quantity}
    if style is not None:
        position["style"] = style
    return scenario_from_mapping({"start": START, "underlyings": {"XYZ": under},
                                  "positions": [position]})


def run(book: Any, spellings: list[str], **config: Any) -> tuple[Any, list[dict[str, Any]]]:
    cfg = RunConfig(**{"costs": NO_COSTS, **config})
    strategies = build_strategies(spellings, book, cfg.costs, cfg.n_steps)
    out = run_backtest(book, strategies, cfg)
    return out, summarize(strategies, out)


def test_a_long_american_put_is_exercised_at_the_boundary_and_its_hedge_follows() -> None:
    book = put_book("american")
    out, rows = run(book, ["interval:250", "none"], n_paths=1_000, n_steps=250, seed=4)
    american = float(greeks("put", 100.0, 110.0, 1.0, 0.25, 0.08, style="american")["price"][()])
    european = float(greeks("put", 100.0, 110.0, 1.0, 0.25, 0.08)["price"][()])
    assert out.initial_value == pytest.approx(100 * 100 * american, rel=1e-9)
    assert american > european + 0.3  # a real early-exercise premium at r = 8 %
    assert out.exercises is not None and out.exercise_value is not None
    exercised = out.exercises > 0
    assert 0.2 < exercised.mean() < 0.9  # down paths exercise, up paths expire
    # the holder receives the intrinsic value: at least the strike less the boundary's spot
    per_path = out.exercise_value[0][exercised] / (100 * 100)
    assert (per_path > 0.0).all() and (per_path < 110.0).all()
    assert rows[0]["early_exercises"] == pytest.approx(exercised.mean())
    assert rows[0]["early_exercise_value"] > 0.0
    # once exercised the book holds cash: the hedge is unwound at the next rebalance
    sample = out.sample["hedge_shares"][0]
    if exercised[0]:
        assert sample[-1] == pytest.approx(0.0, abs=1.0)
    # hedged at 250 rebalances, the American book earns its model price back: the mean P&L
    # is small against the premium and far smaller than the unhedged spread
    premium = 100 * 100 * american
    assert abs(rows[0]["mean_pnl"]) < 0.02 * premium
    assert rows[0]["std_pnl"] < 0.2 * rows[1]["std_pnl"]
    total = sum(out.buckets.values()) + out.unexplained
    np.testing.assert_allclose(total, out.pnl, atol=1e-6 * premium)


def test_the_same_put_marked_european_is_never_exercised_and_mis_hedges_the_american() -> None:
    european_book = put_book(None)
    out, _ = run(european_book, ["interval:100"], n_paths=300, n_steps=100, seed=2)
    assert out.exercises is None and out.exercise_value is None
    by_style, _ = run(put_book(None, option_style="american"), ["interval:100"], n_paths=300,
                      n_steps=100, seed=2)
    assert by_style.exercises is not None and (by_style.exercises > 0).any()
    assert by_style.initial_value > out.initial_value  # the early-exercise premium


def test_a_short_american_put_is_assigned_where_the_holder_exercises() -> None:
    long_out, _ = run(put_book("american", 100.0), ["interval:100"], n_paths=300, n_steps=100,
                      seed=9)
    short_out, _ = run(put_book("american", -100.0), ["interval:100"], n_paths=300,
                       n_steps=100, seed=9)
    assert long_out.exercises is not None and short_out.exercises is not None
    np.testing.assert_array_equal(long_out.exercises, short_out.exercises)
    assert short_out.exercise_value is not None and long_out.exercise_value is not None
    np.testing.assert_allclose(short_out.exercise_value, -long_out.exercise_value)


def test_an_unknown_option_style_names_the_field() -> None:
    with pytest.raises(InvalidInput) as err:
        put_book(None, option_style="bermudan")
    assert err.value.field == "underlyings.XYZ.option_style"
