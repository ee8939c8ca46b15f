"""Solve once, revalue per tick: the interpolated figures, the staleness codes, the batch,
the Greeks against bump-and-resolve, and bad market input."""

from __future__ import annotations

import numpy as np
import pytest

from app.pricing.convertible import (
    EVENT_PASSED,
    FIGURE_NAMES,
    FRESH,
    MARKET_MOVED,
    SPOT_OUTSIDE_BAND,
    ConvertibleTerms,
    GridSpec,
    convertible_figures,
    needs_resolve,
    pack,
    revalue,
    revalue_into,
    solve,
)

FACE = 1000.0
VOL, RATE, Q = 0.3, 0.04, 0.01
BONDS = [
    ConvertibleTerms(conversion_ratio=8.0, maturity=3.0, credit_spread=0.03),
    ConvertibleTerms(conversion_ratio=9.0, maturity=5.0, coupon_rate=0.02, credit_spread=0.02,
                     call_schedule=((2.0, 5.0, 1000.0),), put_schedule=((3.0, 1000.0),)),
    ConvertibleTerms(conversion_ratio=7.0, maturity=4.0, coupon_rate=0.03, credit_spread=0.04,
                     call_schedule=((1.0, 4.0, 1000.0, 1.3),)),
    ConvertibleTerms(conversion_ratio=11.0, maturity=2.0, coupon_rate=0.01,
                     credit_spread=0.015),
]
REFINED = GridSpec(space_nodes=400, steps_per_year=100.0, min_steps=100)


@pytest.fixture(scope="module")
def state():
    return solve(pack(BONDS), 100.0, VOL, RATE, Q)


def test_revalue_at_the_solve_spot_gives_the_solve_figures(state):
    figs = revalue(state, 100.0)
    assert set(figs) == set(FIGURE_NAMES)
    alone = convertible_figures(BONDS, 100.0, VOL, RATE, Q)
    for name in FIGURE_NAMES:
        np.testing.assert_array_equal(figs[name], alone[name])
    np.testing.assert_allclose(figs["conversion_value"], [800.0, 900.0, 700.0, 1100.0])
    np.testing.assert_allclose(figs["conversion_premium"],
                               (figs["price"] - figs["conversion_value"])
                               / figs["conversion_value"])


def test_a_batch_gives_each_bond_what_it_gets_alone(state):
    together = revalue(state, 100.0)
    for i, terms in enumerate(BONDS):
        alone = convertible_figures(terms, 100.0, VOL, RATE, Q)
        for name in FIGURE_NAMES:
            assert together[name][i] == alone[name][0], name


@pytest.mark.parametrize("new_spot", [88.0, 97.0, 104.0, 115.0])
def test_a_new_spot_is_an_interpolation_as_good_as_a_fresh_solve(state, new_spot):
    moved = revalue(state, new_spot)
    fresh = convertible_figures(BONDS, new_spot, VOL, RATE, Q)
    ratio = state.batch.conversion_ratio
    assert np.abs(moved["price"] - fresh["price"]).max() < 2e-4 * FACE
    assert (np.abs(moved["delta"] - fresh["delta"]) / ratio).max() < 1e-3
    for name in ("gamma", "vega", "rho", "credit_spread_sensitivity", "theta"):
        scale = np.abs(fresh[name]).max()
        assert np.abs(moved[name] - fresh[name]).max() < 0.02 * scale, name


def test_revalue_into_takes_a_spot_per_bond_and_allocates_nothing(state):
    out = np.empty((len(FIGURE_NAMES), len(BONDS)))
    spots = np.array([95.0, 100.0, 105.0, 110.0])
    assert revalue_into(state, spots, out) is out
    for i, s in enumerate(spots):
        assert out[0, i] == revalue(state, float(s))["price"][i]


def test_small_moves_leave_the_solve_fresh(state):
    codes = needs_resolve(state, 101.0, VOL + 1e-5, RATE + 1e-6, Q, t_elapsed=1e-5)
    assert codes.tolist() == [FRESH] * len(BONDS)


def test_needs_resolve_says_why(state):
    assert (needs_resolve(state, 130.0, VOL, RATE, Q) == SPOT_OUTSIDE_BAND).all()
    assert (needs_resolve(state, 100.0, VOL + 0.01, RATE, Q) == MARKET_MOVED).all()
    assert (needs_resolve(state, 100.0, VOL, RATE + 0.001, Q) == MARKET_MOVED).all()
    assert (needs_resolve(state, 100.0, VOL, RATE, Q + 0.001) == MARKET_MOVED).all()
    wider = state.credit_spread + np.array([0.0, 0.001, 0.0, 0.0])
    assert needs_resolve(state, 100.0, VOL, RATE, Q, credit_spread=wider).tolist() == [
        FRESH, MARKET_MOVED, FRESH, FRESH]
    # Half a year on: the coupon bonds have paid a coupon; the zero-coupon bond has decayed.
    codes = needs_resolve(state, 100.0, VOL, RATE, Q, t_elapsed=0.5)
    assert codes.tolist() == [MARKET_MOVED, EVENT_PASSED, EVENT_PASSED, EVENT_PASSED]
    # A looser tolerance accepts the vol move.
    assert (needs_resolve(state, 100.0, VOL + 0.01, RATE, Q, price_tol=0.01,
                          delta_tol=0.05) == FRESH).all()


def test_bumped_sensitivities_match_bump_and_resolve():
    batch = pack(BONDS)
    base = revalue(solve(batch, 100.0, VOL, RATE, Q, grid=REFINED), 100.0)

    def central(**bump):
        up = {"vol": VOL, "rate": RATE, "credit_spread": batch.credit_spread}
        down = dict(up)
        (name, h), = bump.items()
        up[name] = up[name] + h
        down[name] = down[name] - h
        hi = revalue(solve(batch, 100.0, up["vol"], up["rate"], Q,
                           credit_spread=up["credit_spread"], grid=REFINED), 100.0)["price"]
        lo = revalue(solve(batch, 100.0, down["vol"], down["rate"], Q,
                           credit_spread=down["credit_spread"], grid=REFINED), 100.0)["price"]
        return (hi - lo) / (2 * h)

    np.testing.assert_allclose(base["vega"], central(vol=0.01), rtol=0.01)
    np.testing.assert_allclose(base["rho"], central(rate=0.001), rtol=0.01)
    np.testing.assert_allclose(base["credit_spread_sensitivity"],
                               central(credit_spread=0.001), rtol=0.01)


def test_theta_is_the_change_as_time_passes():
    dt = 1.0 / 365.0
    batch = pack(BONDS)
    now = revalue(solve(batch, 100.0, VOL, RATE, Q, grid=REFINED), 100.0)
    later = revalue(solve(pack([t.advanced(dt) for t in BONDS]), 100.0, VOL, RATE, Q,
                          grid=REFINED), 100.0)
    np.testing.assert_allclose(now["theta"], (later["price"] - now["price"]) / dt, rtol=0.03)


def test_gamma_is_the_slope_of_delta(state):
    h = 0.5
    up = revalue(state, 100.0 + h)["delta"]
    down = revalue(state, 100.0 - h)["delta"]
    np.testing.assert_allclose(revalue(state, 100.0)["gamma"], (up - down) / (2 * h),
                               rtol=0.02)


def test_the_state_keeps_its_own_copy_of_the_market():
    vols = np.full(len(BONDS), VOL)
    st = solve(pack(BONDS), 100.0, vols, RATE, Q)
    vols[:] = 0.9
    assert (st.vol == VOL).all()


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"spot": -1.0}, "spot"),
    ({"spot": np.nan}, "spot"),
    ({"vol": -0.1}, "vol"),
    ({"rate": np.inf}, "rate"),
    ({"div_yield": np.nan}, "div_yield"),
    ({"credit_spread": -0.01}, "credit_spread"),
    ({"vol": np.array([0.3, 0.3])}, "vol"),
    ({"dividends": ((0.5, -1.0),)}, "dividends"),
    ({"dividends": ((0.5,),)}, "dividends"),
])
def test_bad_market_input_raises_value_error_naming_it(kwargs, field):
    args = {"spot": 100.0, "vol": VOL, "rate": RATE, "div_yield": Q}
    args.update(kwargs)
    extra = {k: args.pop(k) for k in ("credit_spread", "dividends") if k in args}
    with pytest.raises(ValueError, match=field):
        solve(pack(BONDS), args["spot"], args["vol"], args["rate"], args["div_yield"], **extra)
