"""Hypothesis properties: parity, monotonicity, delta bounds, implied-vol round trip."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.pricing import OK, greeks, implied_vol

EPS = np.finfo(float).eps
SETTINGS = settings(max_examples=150, deadline=None)

spots = st.floats(1.0, 1000.0)
moneyness = st.floats(-4.6, 4.6)  # ln(K/S): strikes up to 100x away
times = st.floats(5 / 525_600, 30.0)
vols = st.floats(0.01, 5.0)
rates = st.floats(-0.02, 0.10)
divs = st.floats(0.0, 0.08)
models = st.sampled_from(["bsm", "black76"])


@SETTINGS
@given(spots, moneyness, times, vols, rates, divs, models)
def test_put_call_parity(spot, m, t, vol, r, q, model):
    strike = spot * math.exp(m)
    c = greeks("call", spot, strike, t, vol, r, q, model=model)
    p = greeks("put", spot, strike, t, vol, r, q, model=model)
    qq = r if model == "black76" else q
    forward_value = spot * math.exp(-qq * t) - strike * math.exp(-r * t)
    scale = spot + strike
    assert abs(float(c["price"] - p["price"]) - forward_value) <= 64 * EPS * scale
    assert abs(float(c["delta"] - p["delta"]) - math.exp(-qq * t)) <= 64 * EPS
    for name in ("gamma", "vega", "vanna", "volga"):
        assert math.isclose(float(c[name]), float(p[name]), rel_tol=1e-9, abs_tol=1e-12 * scale)


@SETTINGS
@given(spots, moneyness, times, vols, vols, rates, divs, models, st.booleans())
def test_price_increases_with_vol(spot, m, t, v1, v2, r, q, model, call):
    lo, hi = sorted((v1, v2))
    strike = spot * math.exp(m)
    kind = "call" if call else "put"
    p = greeks(kind, spot, strike, t, [lo, hi], r, q, model=model)["price"]
    assert p[1] >= p[0] - 16 * EPS * (spot + strike)


@SETTINGS
@given(spots, moneyness, moneyness, times, vols, rates, divs, models)
def test_price_monotone_in_strike(spot, m1, m2, t, vol, r, q, model):
    k = spot * np.exp(sorted((m1, m2)))
    tol = 16 * EPS * (spot + k[1])
    c = greeks("call", spot, k, t, vol, r, q, model=model)["price"]
    p = greeks("put", spot, k, t, vol, r, q, model=model)["price"]
    assert c[1] <= c[0] + tol and p[1] >= p[0] - tol


@SETTINGS
@given(spots, moneyness, st.floats(-1.0, 30.0), st.floats(0.0, 5.0), rates, divs, models)
def test_delta_within_bounds(spot, m, t, vol, r, q, model):
    strike = spot * math.exp(m)
    qq = r if model == "black76" else q
    bound = math.exp(-qq * max(t, 0.0)) * (1 + 4 * EPS)
    g = greeks(["call", "put"], spot, strike, t, vol, r, q, model=model)
    assert 0.0 <= g["delta"][0] <= bound
    assert -bound <= g["delta"][1] <= 0.0
    assert all(np.isfinite(v).all() for v in g.values())
    assert g["gamma"].min() >= 0.0 and g["vega"].min() >= 0.0


@SETTINGS
@given(spots, moneyness, times, vols, rates, divs, models, st.booleans())
def test_implied_vol_recovers_vol(spot, m, t, vol, r, q, model, call):
    strike = spot * math.exp(m)
    kind = "call" if call else "put"
    g = greeks(kind, spot, strike, t, vol, r, q, model=model)
    iv, reason = implied_vol(kind, g["price"], spot, strike, t, r, q, model=model,
                             return_reason=True)
    vega, price = float(g["vega"]), float(g["price"])
    if vega > 1e-8 * spot:
        assert reason == OK
        # 1e-8, or what a few ulps of the price and of its parts (spot, strike) allow: in the
        # money with little time value a float64 price pins the vol down no further.
        assert abs(float(iv) - vol) < max(1e-8, 8 * EPS * max(price, spot, strike) / vega)
    else:
        assert reason == OK or np.isnan(iv)
