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


def call_book_with_dividend(style: str, amount: float = 6.0) -> Any:
    """A call 20 % in the money; a large cash dividend goes ex 200 days into its year."""
    ex = "2025-07-20"
    return scenario_from_mapping({
        "start": START,
        "underlyings": {"XYZ": {"spot": 120.0, "rate": 0.03, "div_yield": 0.0, "vol": 0.2,
                                "option_style": style,
                                "dividends": [{"ex_date": ex, "amount": amount}]}},
        "positions": [{"symbol": "C", "type": "call", "underlying": "XYZ", "strike": 100.0,
                       "expiry": START + 365 * 86_400.0, "quantity": 100}],
    })


def test_an_american_call_is_exercised_just_before_a_large_dividend_goes_ex() -> None:
    book = call_book_with_dividend("american")
    out, rows = run(book, ["interval:100", "none"], n_paths=200, n_steps=100, seed=5)
    ex_time = book.underlyings[0].dividends[0][0]
    assert out.exercises is not None and (out.exercises > 0).mean() > 0.5
    times = out.sample["times"]
    hedge = out.sample["hedge_shares"][0]
    if out.exercises[0]:  # the sample path: exercised on the step before the ex time
        before = int(np.searchsorted(times, ex_time)) - 1
        assert hedge[before + 1:].max() == pytest.approx(hedge[-1])
    european = call_book_with_dividend("european")
    eu_out, eu_rows = run(european, ["interval:100"], n_paths=200, n_steps=100, seed=5)
    assert out.initial_value > eu_out.initial_value  # the right to exercise before ex
    premium = out.initial_value
    assert abs(rows[0]["mean_pnl"]) < 0.02 * premium
    assert abs(eu_rows[0]["mean_pnl"]) < 0.02 * eu_out.initial_value
    total = sum(out.buckets.values()) + out.unexplained
    np.testing.assert_allclose(total, out.pnl, atol=1e-6 * premium)


def test_a_dividend_drops_every_path_at_its_ex_time_and_pays_the_stock_holder() -> None:
    from app.backtest.markets import MarketPaths, with_cash_dividends

    times = np.array([0.0, 10.0, 20.0, 30.0])
    spot = np.array([[100.0, 50.0], [101.0, 50.5], [102.0, 51.0], [103.0, 51.5]])
    moved = with_cash_dividends(MarketPaths(times, spot), ((15.0, 2.0), (30.0, 1.0)))
    np.testing.assert_allclose(moved.spot[:2], spot[:2])
    np.testing.assert_allclose(moved.spot[2], [101.0 * 102 / 101 - 2.0, 50.5 * 51 / 50.5 - 2.0])
    np.testing.assert_allclose(moved.spot[3], moved.spot[2] * spot[3] / spot[2] - 1.0)
    # a stock held through the ex date: the drop is paid back in cash, nothing lost
    book = scenario_from_mapping({
        "start": START, "end": START + 30 * 86_400.0,
        "underlyings": {"XYZ": {"spot": 100.0, "rate": 0.0, "vol": 0.2,
                                "dividends": [{"ex_date": "2025-01-15", "amount": 3.0}]}},
        "positions": [{"symbol": "XYZ", "quantity": 1_000}]})
    out, _ = run(book, ["none"], n_paths=50, n_steps=30, seed=1, realized_vol=1e-9)
    np.testing.assert_allclose(out.pnl, 0.0, atol=1e-3)
    np.testing.assert_allclose(out.buckets["theta"], 3_000.0, rtol=1e-9)


def test_bad_dividends_name_their_field() -> None:
    for dividends, field in (([{"amount": 1.0}], "underlyings.XYZ.dividends.0.ex_date"),
                             ([{"ex_date": "2025-13-01", "amount": 1.0}],
                              "underlyings.XYZ.dividends.0.ex_date"),
                             ([{"ex_date": "2025-03-01", "amount": -1.0}],
                              "underlyings.XYZ.dividends.0.amount")):
        with pytest.raises(InvalidInput) as err:
            scenario_from_mapping({
                "start": START, "underlyings": {"XYZ": {"spot": 100.0, "vol": 0.2,
                                                        "dividends": dividends}},
                "positions": [{"symbol": "C", "type": "call", "underlying": "XYZ",
                               "strike": 100.0, "expiry": START + 86_400.0 * 30,
                               "quantity": 1}]})
        assert err.value.field == field
