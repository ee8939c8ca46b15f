"""Cash dividends (spot model) on the finite-difference grid: against QuantLib, reuse across
ticks, exercise before ex dates, and input checks."""

from __future__ import annotations

import numpy as np
import pytest

from app.pricing import dividend_grid_greeks_into, dividend_grids, greeks
from app.pricing.dividends import MAX_AGE_YEARS

pytest.importorskip("QuantLib")

from ql_dividends import reference


def dividend_cases(n: int, seed: int) -> list[dict]:
    """Random options with quarterly dividends of 0.5-3 % of spot, both styles."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(n):
        spot = 100.0
        days = int(rng.integers(30, 2 * 365))
        first = int(rng.integers(5, 91))
        div_days = list(range(first, days, 91))
        cases.append({
            "call": bool(rng.random() < 0.5), "spot": spot,
            "strike": float(spot * rng.uniform(0.7, 1.3)), "rate": float(rng.uniform(0.0, 0.08)),
            "div": 0.0, "vol": float(rng.uniform(0.1, 0.6)), "days": days,
            "div_days": div_days,
            "div_amounts": [float(a) for a in rng.uniform(0.005, 0.03, len(div_days)) * spot],
            "american": bool(i % 2 == 0)})
    return cases


def ours(case: dict) -> dict[str, np.ndarray]:
    return greeks("call" if case["call"] else "put", case["spot"], case["strike"],
                  case["days"] / 365.0, case["vol"], case["rate"], case["div"],
                  style="american" if case["american"] else "european",
                  dividends=(np.array(case["div_days"]) / 365.0, case["div_amounts"]))


@pytest.mark.slow
def test_dividend_prices_and_deltas_match_quantlib_spot_model(request):
    cases = dividend_cases(24, seed=77)
    ref = reference(cases, getattr(request.config, "cache", None))
    for case, (price, delta) in zip(cases, ref, strict=True):
        g = ours(case)
        assert abs(float(g["price"]) - price) < 2e-4 * case["strike"], (case, g["price"], price)
        assert abs(float(g["delta"]) - delta) < 1e-3, (case, g["delta"], delta)


def test_without_dividends_the_grid_agrees_with_the_closed_forms():
    spot = np.array([80.0, 100.0, 125.0])
    for style in ("european", "american"):
        for kind in ("call", "put"):
            closed = greeks(kind, spot, 100.0, 0.75, 0.3, 0.05, 0.02, style=style)
            grid = greeks(kind, spot, 100.0, 0.75, 0.3, 0.05, 0.02, style=style,
                          dividends=[(1.5, 1.0)])  # after expiry: no dividend in the life
            np.testing.assert_allclose(grid["price"], closed["price"], atol=2e-4 * 100)
            np.testing.assert_allclose(grid["delta"], closed["delta"], atol=1e-3)
            # Greeks from bumped grids: the grid's time error (first order near an exercise
            # boundary) moves them by a few 1e-3.
            np.testing.assert_allclose(grid["vega"], closed["vega"], rtol=5e-3, atol=1e-3)
            np.testing.assert_allclose(grid["rho"], closed["rho"], rtol=5e-3, atol=1e-3)


def test_american_call_is_exercised_just_before_a_large_dividend():
    # Deep in the money, a dividend of 10 in a month: exercising just before the ex time
    # collects S - K rather than holding a stock about to drop by 10.
    div = [(30 / 365, 10.0)]
    american = greeks("call", 100.0, 60.0, 0.5, 0.25, 0.03, 0.0, style="american", dividends=div)
    european = greeks("call", 100.0, 60.0, 0.5, 0.25, 0.03, 0.0, dividends=div)
    assert float(american["price"]) >= 40.0 - 1e-9
    assert float(american["price"]) > float(european["price"]) + 1.0


def test_american_is_never_below_european_under_dividends():
    spot = np.linspace(60.0, 140.0, 9)
    div = [(0.2, 1.5), (0.45, 1.5), (0.7, 1.5)]
    for kind in ("call", "put"):
        a = greeks(kind, spot, 100.0, 1.0, 0.35, 0.04, style="american", dividends=div)
        e = greeks(kind, spot, 100.0, 1.0, 0.35, 0.04, dividends=div)
        assert (a["price"] >= e["price"] - 1e-12).all()


def _grid(spot=100.0):
    strike = np.array([80.0, 100.0, 120.0, 100.0])
    n = strike.size
    return dividend_grids(np.array([True, True, False, False]), np.full(n, spot), strike,
                          np.full(n, 0.6), np.full(n, 0.3), np.full(n, 0.04), np.zeros(n),
                          np.array([True, False, True, True]), np.array([0.1, 0.35]),
                          np.array([1.2, 1.2]))


def test_a_solved_grid_revalues_at_a_new_spot_without_solving():
    grid = _grid()
    moved = np.empty((9, 4))
    assert dividend_grid_greeks_into(grid, 104.0, 0.0, moved) == 0
    fresh = np.empty((9, 4))
    dividend_grid_greeks_into(_grid(spot=104.0), 104.0, 0.0, fresh)
    np.testing.assert_allclose(moved[0], fresh[0], atol=2e-5 * 100)
    np.testing.assert_allclose(moved[1], fresh[1], atol=1e-4)
    np.testing.assert_allclose(moved[2], fresh[2], rtol=2e-3, atol=1e-5)


def test_a_grid_shifts_in_time_by_theta_within_its_age():
    grid = _grid()
    elapsed = MAX_AGE_YEARS
    shifted = np.empty((9, 4))
    assert dividend_grid_greeks_into(grid, 100.0, elapsed, shifted) == 0
    later = dividend_grids(grid.is_call, np.full(4, 100.0), grid.strike, grid.t - elapsed,
                           grid.vol, grid.rate, grid.div_yield, grid.american,
                           grid.div_times - elapsed, grid.div_amounts)
    fresh = np.empty((9, 4))
    dividend_grid_greeks_into(later, 100.0, 0.0, fresh)
    np.testing.assert_allclose(shifted[0], fresh[0], atol=2e-5 * 100)


def test_a_grid_out_of_its_band_or_age_gives_nan():
    grid = _grid()
    out = np.empty((9, 4))
    assert dividend_grid_greeks_into(grid, 400.0, 0.0, out) == 4
    assert np.isnan(out).all()
    assert dividend_grid_greeks_into(grid, 100.0, 2 * MAX_AGE_YEARS, out) == 4
    assert np.isnan(out).all()


def test_dividend_input_is_checked():
    with pytest.raises(ValueError, match="dividends"):
        greeks("call", 100.0, 100.0, 1.0, 0.2, 0.05, dividends=[(0.5, -1.0)])
    with pytest.raises(ValueError, match="dividends"):
        greeks("call", 100.0, 100.0, 1.0, 0.2, 0.05, model="black76", dividends=[(0.5, 1.0)])
    with pytest.raises(ValueError, match="dividends"):
        greeks("call", 100.0, 100.0, 1.0, 0.2, 0.05, dividends=[(np.nan, 1.0)])
