"""Hypothesis properties of American prices: put-call symmetry, American >= European,
monotone in vol, implied-vol round trip."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.pricing import OK, greeks, implied_vol

SETTINGS = settings(max_examples=60, deadline=None)

spots = st.floats(20.0, 500.0)
moneyness = st.floats(-0.7, 0.7)  # ln(K/S)
times = st.floats(1 / 365, 3.0)
vols = st.floats(0.05, 1.0)
rates = st.floats(0.0, 0.10)
divs = st.floats(0.0, 0.12)
models = st.sampled_from(["bsm", "black76"])


@SETTINGS
@given(spots, moneyness, times, vols, rates, divs)
def test_put_call_symmetry(spot, m, t, vol, r, q):
    # McDonald-Schroder: C(S, K, r, q) = P(K, S, q, r) for American options.
    strike = spot * math.exp(m)
    call = float(greeks("call", spot, strike, t, vol, r, q, style="american")["price"])
    put = float(greeks("put", strike, spot, t, vol, q, r, style="american")["price"])
    assert abs(call - put) <= 1e-7 * (spot + strike)


@SETTINGS
@given(spots, moneyness, times, vols, rates, divs, models, st.booleans())
def test_american_is_worth_at_least_european_and_intrinsic(spot, m, t, vol, r, q, model, call):
    strike = spot * math.exp(m)
    kind = "call" if call else "put"
    american = float(greeks(kind, spot, strike, t, vol, r, q, model=model,
                            style="american")["price"])
    european = float(greeks(kind, spot, strike, t, vol, r, q, model=model)["price"])
    intrinsic = spot - strike if call else strike - spot
    assert american >= european
    assert american >= intrinsic


@SETTINGS
@given(spots, moneyness, times, vols, vols, rates, divs, models, st.booleans())
def test_american_price_increases_with_vol(spot, m, t, v1, v2, r, q, model, call):
    lo, hi = sorted((v1, v2))
    strike = spot * math.exp(m)
    kind = "call" if call else "put"
    p = greeks(kind, spot, strike, t, [lo, hi], r, q, model=model, style="american")["price"]
    assert p[1] >= p[0] - 1e-9 * (spot + strike)


@SETTINGS
@given(spots, moneyness, times, vols, rates, divs, models, st.booleans())
def test_american_implied_vol_recovers_vol(spot, m, t, vol, r, q, model, call):
    strike = spot * math.exp(m)
    kind = "call" if call else "put"
    g = greeks(kind, spot, strike, t, vol, r, q, model=model, style="american")
    iv, reason = implied_vol(kind, g["price"], spot, strike, t, r, q, model=model,
                             style="american", return_reason=True)
    if float(g["vega"]) > 1e-4 * strike:
        assert reason == OK
        assert abs(float(iv) - vol) < 1e-6
    else:
        assert reason == OK or np.isnan(iv)
