"""Edges real books hit: expiry, minutes to expiry, zero vol, far strikes, huge vol, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.pricing import GREEK_NAMES, greeks, greeks_into, implied_vol

MODELS = ["bsm", "black76"]
SECOND_ORDER_AND_TIME = ("gamma", "vega", "theta", "rho", "vanna", "volga", "charm")


def _all_finite(g):
    return all(np.isfinite(v).all() for v in g.values())


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("t", [0.0, -0.5])
def test_at_or_past_expiry_is_intrinsic(model, t):
    spot = np.array([90.0, 100.0, 110.0])
    call = greeks("call", spot, 100.0, t, 0.2, 0.05, 0.02, model=model)
    put = greeks("put", spot, 100.0, t, 0.2, 0.05, 0.02, model=model)
    np.testing.assert_array_equal(call["price"], [0.0, 0.0, 10.0])
    np.testing.assert_array_equal(put["price"], [10.0, 0.0, 0.0])
    # Convention: at the money at expiry, delta is 0 for both call and put.
    np.testing.assert_array_equal(call["delta"], [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(put["delta"], [-1.0, 0.0, 0.0])
    for name in SECOND_ORDER_AND_TIME:
        np.testing.assert_array_equal(call[name], 0.0)
        np.testing.assert_array_equal(put[name], 0.0)


@pytest.mark.parametrize("model", MODELS)
def test_minutes_to_expiry_is_finite_and_near_intrinsic(model):
    t = 5.0 / (365.0 * 24 * 60)  # five minutes
    spot = np.array([95.0, 99.99, 100.0, 100.01, 105.0])
    for kind in ("call", "put"):
        g = greeks(kind, spot, 100.0, t, 0.3, 0.05, 0.01, model=model)
        assert _all_finite(g)
        intrinsic = np.maximum(spot - 100.0, 0) if kind == "call" else np.maximum(100 - spot, 0)
        assert np.all(np.abs(g["price"] - intrinsic) < 0.1)
        assert g["gamma"][2] > 1.0  # at the money gamma explodes as expiry nears


@pytest.mark.parametrize("model", MODELS)
def test_zero_vol_is_the_deterministic_limit(model):
    spot, strike, t, r, q = np.array([90.0, 100.0, 110.0]), 100.0, 0.5, 0.05, 0.02
    g = greeks("call", spot, strike, t, 0.0, r, q, model=model)
    qq = r if model == "black76" else q
    fwd = spot * math.exp((r - qq) * t)
    dq, dr = math.exp(-qq * t), math.exp(-r * t)
    itm = fwd > strike
    np.testing.assert_allclose(g["price"], dr * np.maximum(fwd - strike, 0.0), rtol=1e-14)
    np.testing.assert_array_equal(g["delta"], np.where(itm, dq, 0.0))
    for name in ("gamma", "vega", "vanna", "volga"):
        np.testing.assert_array_equal(g[name], 0.0)
    # theta, rho, charm: the σ → 0 limit, continuous with a tiny positive vol.
    tiny = greeks("call", spot, strike, t, 1e-9, r, q, model=model)
    for name in ("price", "delta", "theta", "rho", "charm"):
        np.testing.assert_allclose(g[name][itm | (fwd < strike)],
                                   tiny[name][itm | (fwd < strike)], rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("model", MODELS)
def test_vol_near_zero_is_finite(model):
    for vol in (1e-14, 1e-10, 1e-6):
        g = greeks(["call", "put"], 100.0, [100.0, 100.0 + 1e-9], 0.25, vol, 0.03, model=model)
        assert _all_finite(g)


@pytest.mark.parametrize("model", MODELS)
def test_strikes_100x_away_and_500pct_vol(model):
    strikes = np.array([1.0, 10_000.0])
    for vol in (0.05, 5.0):
        for t in (1e-5, 1.0, 30.0):
            for kind in ("call", "put"):
                g = greeks(kind, 100.0, strikes, t, vol, 0.05, 0.01, model=model)
                assert _all_finite(g)
                assert np.all(g["price"] >= 0.0)
    deep = greeks("call", 100.0, 10_000.0, 0.1, 0.2, 0.05, model=model)
    assert float(deep["price"]) == 0.0 and float(deep["delta"]) == 0.0


@pytest.mark.parametrize(
    ("arg", "value", "message"),
    [("spot", -1.0, "spot"), ("spot", 0.0, "spot"), ("strike", -5.0, "strike"),
     ("spot", np.nan, "spot"), ("strike", np.nan, "strike"), ("t", np.nan, "t must"),
     ("vol", np.nan, "vol"), ("vol", -0.1, "vol"), ("rate", np.nan, "rate"),
     ("div_yield", np.nan, "div_yield"), ("spot", np.inf, "spot")])
def test_invalid_inputs_raise_naming_the_argument(arg, value, message):
    args = dict(kind="call", spot=100.0, strike=100.0, t=0.5, vol=0.2, rate=0.01, div_yield=0.0)
    args[arg] = np.array([args[arg], value])  # one bad element among good ones
    with pytest.raises(ValueError, match=message):
        greeks(**args)


def test_invalid_kind_and_model():
    with pytest.raises(ValueError, match="kind"):
        greeks("straddle", 100.0, 100.0, 1.0, 0.2, 0.0)
    with pytest.raises(ValueError, match="kind"):
        greeks(["call", "cal"], 100.0, 100.0, 1.0, 0.2, 0.0)
    with pytest.raises(ValueError, match="model"):
        greeks("call", 100.0, 100.0, 1.0, 0.2, 0.0, model="heston")
    with pytest.raises(ValueError, match="broadcast"):
        greeks("call", [1.0, 2.0], [1.0, 2.0, 3.0], 1.0, 0.2, 0.0)


def test_kind_forms_and_shapes():
    a = greeks(np.array(["call", "put"]), 100.0, 100.0, 1.0, 0.2, 0.01)
    b = greeks(np.array([True, False]), 100.0, 100.0, 1.0, 0.2, 0.01)
    for name in GREEK_NAMES:
        np.testing.assert_array_equal(a[name], b[name])
    scalar = greeks("put", 100, 100, 1, 0.2, 0.01)
    assert scalar["price"].shape == ()
    grid = greeks("call", 100.0, np.linspace(80, 120, 5)[:, None], [[0.25, 1.0]], 0.2, 0.01)
    assert grid["vega"].shape == (5, 2)
    assert greeks("call", 100.0, np.array([]), 1.0, 0.2, 0.0)["price"].shape == (0,)


def test_greeks_into_matches_greeks():
    rng = np.random.default_rng(3)
    n = 64
    is_call = rng.random(n) < 0.5
    strike, t, vol = rng.uniform(80, 120, n), rng.uniform(0, 2, n), rng.uniform(0, 1, n)
    out = np.empty((9, n))
    for black76 in (False, True):
        model = "black76" if black76 else "bsm"
        greeks_into(is_call, 100.0, strike, t, vol, 0.03, 0.01, black76, out)
        g = greeks(is_call, 100.0, strike, t, vol, 0.03, 0.01, model=model)
        for row, name in enumerate(GREEK_NAMES):
            np.testing.assert_array_equal(out[row], g[name])
        spot = np.full(n, 100.0)
        greeks_into(is_call, spot, strike, t, vol, np.full(n, 0.03), np.full(n, 0.01),
                    black76, out)
        np.testing.assert_array_equal(out[0], g["price"])


def test_api_calls_never_compile_after_warm_up():
    """Whatever the argument forms, greeks()/implied_vol() reuse the warmed-up kernels."""
    from app.pricing._iv_kernel import implied_vol_kernel
    from app.pricing._kernels import greeks_kernel

    before = (len(greeks_kernel.signatures), len(implied_vol_kernel.signatures))
    readonly = np.full(3, 100.0)
    readonly.flags.writeable = False
    greeks(["call", "put", "call"], readonly, readonly, 1, 0.2, 0.01)
    greeks(True, np.float32(100), [[100.0]], [1.0, 2.0], 0.2, [0.01, 0.02], model="black76")
    greeks("put", 100, np.array([90, 110], dtype=np.int32), 0.5, 0.3, 0)
    implied_vol("call", [[5.0]], readonly, 100, [1, 2, 3], 0.01)
    implied_vol(["call", "put"], [5.0, 4.0], [100.0, 101.0], 100.0, 1.0, [0.01, 0.0])
    assert (len(greeks_kernel.signatures), len(implied_vol_kernel.signatures)) == before
