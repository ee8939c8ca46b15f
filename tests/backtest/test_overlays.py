"""Baselines and overlays: portfolio insurance, tail puts, jumps the hedge cannot follow."""

from __future__ import annotations

from app.backtest import CostModel, load_book, scenario_from_mapping
from app.backtest.markets import JumpParams

from .helpers import NO_COSTS, run

PORTFOLIO = {
    "start": "2025-01-06T21:00:00Z",
    "end": "2025-07-07T20:00:00Z",
    "underlyings": {"XYZ": {"spot": 100.0, "rate": 0.03, "div_yield": 0.0, "vol": 0.25}},
    "positions": [{"symbol": "XYZ", "quantity": 10_000}],
}


def test_portfolio_insurance_keeps_the_loss_near_the_floor_and_gives_up_some_upside() -> None:
    book = scenario_from_mapping(PORTFOLIO)
    rows = run(book, ["none", "portfolio_insurance:0.9@interval:120"], n_paths=3_000,
               n_steps=120, seed=1, costs=NO_COSTS)
    none, insured = rows
    floor_loss = 10_000 * 100 * 0.10  # the floor is 10 % below the start value
    assert none["var_99"] > 1.5 * floor_loss
    # the synthetic put costs about its premium on top of the floor
    assert insured["var_99"] < floor_loss * 1.6
    assert insured["cvar_99"] < 0.6 * none["cvar_99"]
    assert 0.3 < insured["upside_kept"] < 0.95
    assert insured["mean_trades"] > 50


def test_tail_puts_cut_the_crash_loss_of_a_hedged_short_call_book() -> None:
    book = load_book(None)
    crashes = JumpParams(intensity=6.0, mean=-0.2, std=0.05)
    rows = run(book, ["interval:20", "interval:20+tail:0.9:60"], n_paths=4_000, n_steps=80,
               seed=2, model="merton", jumps=crashes, costs=CostModel(commission=50.0))
    plain, covered = rows
    assert covered["cvar_99"] < 0.8 * plain["cvar_99"]
    assert covered["mean_cost"] >= plain["mean_cost"] + 50  # the puts were bought too


def test_jumps_leave_unexplained_pnl_the_delta_hedge_cannot_follow() -> None:
    book = load_book(None)
    kwargs = {"n_paths": 3_000, "n_steps": 200, "seed": 3, "costs": NO_COSTS}
    smooth = run(book, ["interval:200"], **kwargs)[0]
    jumpy = run(book, ["interval:200"], model="merton",
                jumps=JumpParams(intensity=5.0, mean=-0.1, std=0.05), **kwargs)[0]
    assert jumpy["std_pnl"] > 3 * smooth["std_pnl"]
    assert abs(jumpy["attribution"]["unexplained"]) > 10 * abs(
        smooth["attribution"]["unexplained"])


def test_heston_books_vega_pnl_on_the_moving_mark() -> None:
    book = load_book(None)
    row = run(book, ["interval:100"], n_paths=2_000, n_steps=100, seed=4, model="heston",
              costs=NO_COSTS)[0]
    none = run(book, ["none"], n_paths=2_000, n_steps=100, seed=4, model="heston",
               costs=NO_COSTS)[0]
    assert row["attribution"]["vega"] != 0
    assert row["std_pnl"] < none["std_pnl"]
