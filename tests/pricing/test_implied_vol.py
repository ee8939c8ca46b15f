"""Implied vol: accuracy over the domain, no-arbitrage bounds and reasons, hard cases."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_book

from app.pricing import (
    ABOVE_UPPER_BOUND,
    BELOW_INTRINSIC,
    EXPIRED,
    NO_CONVERGENCE,
    OK,
    REASONS,
    greeks,
    implied_vol,
)
from app.pricing.reference import implied_vol_reference

EPS = np.finfo(float).eps


def _tolerance(g, spot, strike):
    # 1e-8 as required, or the vol change that moves the price by a few ulps of the price and
    # of its parts (spot, strike): a float64 price cannot pin the vol down further. This
    # only binds in the money with little time value (price >> vega).
    scale = np.maximum(np.abs(g["price"]), np.maximum(spot, strike))
    return np.maximum(1e-8, 8 * EPS * scale / np.maximum(g["vega"], 1e-300))


@pytest.mark.parametrize("model", ["bsm", "black76"])
def test_recovers_vol_wherever_vega_is_meaningful(model):
    b = random_book(20_000, seed=11)
    args = (b["spot"], b["strike"], b["t"])
    g = greeks(b["is_call"], *args, b["vol"], b["rate"], b["div_yield"], model=model)
    iv, reason = implied_vol(b["is_call"], g["price"], *args, b["rate"], b["div_yield"],
                             model=model, return_reason=True)
    domain = g["vega"] > 1e-8 * b["spot"]
    assert domain.mean() > 0.15  # the rest is too far out or too short dated to matter
    assert (reason[domain] == OK).all()
    err = np.abs(iv - b["vol"])[domain]
    assert (err < _tolerance(g, b["spot"], b["strike"])[domain]).all(), err.max()
    otm = domain & ((b["strike"] > b["spot"]) == b["is_call"])
    assert np.abs(iv - b["vol"])[otm].max() < 1e-8
    # Outside the domain: still never an exception; NaN only with a reason.
    assert set(np.unique(reason)) <= set(REASONS)
    assert np.isnan(iv[reason != OK]).all()


def test_short_dated_and_far_strikes():
    strike = np.array([60.0, 75.0, 130.0, 160.0, 100.5, 99.5])
    t = np.array([0.02, 0.005, 0.01, 0.03, 1e-4, 1e-4])
    vol = np.array([0.9, 0.8, 0.45, 0.6, 0.15, 0.25])
    kind = np.array(["put", "put", "call", "call", "call", "put"])
    price = greeks(kind, 100.0, strike, t, vol, 0.02)["price"]
    iv = implied_vol(kind, price, 100.0, strike, t, 0.02)
    np.testing.assert_allclose(iv, vol, rtol=0, atol=1e-10)


def test_agrees_with_the_numpy_reference_where_newton_converges():
    b = random_book(2000, seed=5)
    keep = (b["t"] > 0.05) & (np.abs(np.log(b["strike"] / b["spot"])) < 0.3) & (b["vol"] < 2)
    args = [b[k][keep] for k in ("is_call", "spot", "strike", "t", "vol", "rate", "div_yield")]
    g = greeks(*args)
    price = g["price"]
    ref = implied_vol_reference(args[0], price, *args[1:4], *args[5:])
    ours = implied_vol(args[0], price, *args[1:4], *args[5:])
    # (where vega vanishes the reference's price-residual test accepts any vol)
    ok = np.isfinite(ref) & (g["vega"] > 1e-8 * args[1])
    assert ok.mean() > 0.6
    np.testing.assert_allclose(ours[ok], ref[ok], atol=1e-7)


@pytest.mark.parametrize("model", ["bsm", "black76"])
def test_bounds_give_nan_and_reason_per_element(model):
    fwd_disc = 100.0 * np.exp(-0.05 * 1.0)  # black76: F e^{-rt}
    spot_disc = 100.0 * np.exp(-0.02 * 1.0) if model == "bsm" else fwd_disc
    price = np.array([spot_disc * 1.0001, 1e-30, 5.0, -1.0, 5.0])
    t = np.array([1.0, 1.0, 1.0, 1.0, 0.0])
    strike = np.array([100.0, 50.0, 100.0, 100.0, 100.0])
    iv, reason = implied_vol("call", price, 100.0, strike, t, 0.05, 0.02, model=model,
                             return_reason=True)
    assert list(reason) == [ABOVE_UPPER_BOUND, BELOW_INTRINSIC, OK, BELOW_INTRINSIC, EXPIRED]
    assert np.isnan(iv[[0, 1, 3, 4]]).all() and 0.0 < iv[2] < 1.0
    only_vol = implied_vol("call", price, 100.0, strike, t, 0.05, 0.02, model=model)
    np.testing.assert_array_equal(np.isnan(only_vol), np.isnan(iv))


def test_price_at_intrinsic_is_zero_vol_and_upper_bound_is_rejected():
    intrinsic = 100.0 - 80.0 * np.exp(-0.03)
    assert float(implied_vol("call", intrinsic, 100.0, 80.0, 1.0, 0.03)) == 0.0
    iv, why = implied_vol("put", 80.0 * np.exp(-0.03), 100.0, 80.0, 1.0, 0.03,
                          return_reason=True)
    assert np.isnan(iv) and why == ABOVE_UPPER_BOUND


def test_reason_constants():
    assert REASONS == (OK, BELOW_INTRINSIC, ABOVE_UPPER_BOUND, EXPIRED, NO_CONVERGENCE)
    assert OK == "ok" and BELOW_INTRINSIC == "below_intrinsic"


@pytest.mark.parametrize(("arg", "bad"), [("price", np.nan), ("spot", -1.0), ("strike", 0.0),
                                          ("t", np.nan), ("rate", np.inf)])
def test_invalid_inputs_raise(arg, bad):
    args = dict(kind="call", price=5.0, spot=100.0, strike=100.0, t=1.0, rate=0.01)
    args[arg] = np.array([args[arg], bad])
    with pytest.raises(ValueError, match=arg):
        implied_vol(**args)
