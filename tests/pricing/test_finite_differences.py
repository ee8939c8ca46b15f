"""Every Greek against central finite differences of the model's own price/delta/vega."""

from __future__ import annotations

import numpy as np
import pytest

from app.pricing import greeks


def _book(n=400, seed=7):
    # Moderate options so that differences are well conditioned (no 1e-300 vegas).
    rng = np.random.default_rng(seed)
    return dict(kind=rng.random(n) < 0.5, spot=rng.uniform(50, 150, n),
                strike=rng.uniform(60, 140, n), t=rng.uniform(0.05, 3.0, n),
                vol=rng.uniform(0.08, 0.9, n), rate=rng.uniform(-0.01, 0.08, n),
                div_yield=rng.uniform(0.0, 0.06, n))


def _bumped(args, model, name, h):
    up = dict(args, **{name: args[name] + h})
    dn = dict(args, **{name: args[name] - h})
    return greeks(**up, model=model), greeks(**dn, model=model)


@pytest.mark.parametrize("model", ["bsm", "black76"])
def test_greeks_match_central_differences(model):
    args = _book()
    g = greeks(**args, model=model)
    hs = 1e-4 * args["spot"]
    up, dn = _bumped(args, model, "spot", hs)
    fd = {"delta": (up["price"] - dn["price"]) / (2 * hs),
          "gamma": (up["delta"] - dn["delta"]) / (2 * hs)}
    hv = 1e-5
    up, dn = _bumped(args, model, "vol", hv)
    fd |= {"vega": (up["price"] - dn["price"]) / (2 * hv),
           "vanna": (up["delta"] - dn["delta"]) / (2 * hv),
           "volga": (up["vega"] - dn["vega"]) / (2 * hv)}
    ht = 1e-5
    up, dn = _bumped(args, model, "t", ht)  # calendar time passing = t decreasing
    fd |= {"theta": (dn["price"] - up["price"]) / (2 * ht),
           "charm": (dn["delta"] - up["delta"]) / (2 * ht)}
    hr = 1e-6
    up, dn = _bumped(args, model, "rate", hr)
    fd["rho"] = (up["price"] - dn["price"]) / (2 * hr)
    for name, approx in fd.items():
        scale = np.abs(approx) + 1e-3 * np.abs(g["vega"]).max() / args["spot"].mean()
        err = np.abs(g[name] - approx) / scale
        assert err.max() < 2e-5, f"{name}: worst relative error {err.max():.2e}"


def test_black76_rho_holds_the_future_fixed():
    g = greeks("call", 100.0, 95.0, 0.75, 0.3, 0.05, model="black76")
    assert float(g["rho"]) == pytest.approx(-0.75 * float(g["price"]), rel=1e-14)


def test_black76_ignores_div_yield_and_equals_bsm_with_q_equal_r():
    b76 = greeks("put", 101.0, 95.0, 0.5, 0.25, 0.04, div_yield=0.3, model="black76")
    bsm = greeks("put", 101.0, 95.0, 0.5, 0.25, 0.04, div_yield=0.04, model="bsm")
    for name in ("price", "delta", "gamma", "vega", "theta", "vanna", "volga", "charm"):
        assert float(b76[name]) == pytest.approx(float(bsm[name]), rel=1e-13, abs=1e-15), name
