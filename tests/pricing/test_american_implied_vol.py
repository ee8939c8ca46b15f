"""American implied vol: accuracy where vega matters, reasons instead of exceptions, the
book's hot path on cached octave panels."""

from __future__ import annotations

import numpy as np

from app.pricing import (
    ABOVE_UPPER_BOUND,
    BELOW_INTRINSIC,
    EXPIRED,
    OK,
    REASONS,
    american_implied_vol_into,
    american_vol_range,
    greeks,
    implied_vol,
)


def _book(n, seed):
    rng = np.random.default_rng(seed)
    strike = rng.uniform(50.0, 150.0, n)
    return {"is_call": rng.random(n) < 0.5, "spot": strike * rng.uniform(0.5, 2.0, n),
            "strike": strike, "t": rng.uniform(1 / 365, 3.0, n), "vol": rng.uniform(0.05, 1.0, n),
            "rate": rng.uniform(0.0, 0.10, n), "div_yield": rng.uniform(0.0, 0.12, n)}


def test_american_implied_vol_is_within_1e6_wherever_vega_matters():
    for model in ("bsm", "black76"):
        b = _book(400, seed=31 if model == "bsm" else 32)
        args = (b["spot"], b["strike"], b["t"])
        g = greeks(b["is_call"], *args, b["vol"], b["rate"], b["div_yield"], model=model,
                   style="american")
        iv, reason = implied_vol(b["is_call"], g["price"], *args, b["rate"], b["div_yield"],
                                 model=model, style="american", return_reason=True)
        domain = g["vega"] > 1e-4 * b["strike"]
        assert domain.mean() > 0.5
        assert (reason[domain] == OK).all()
        assert np.abs(iv - b["vol"])[domain].max() < 1e-6
        assert set(np.unique(reason)) <= set(REASONS)


def test_bad_quotes_get_nan_and_a_reason_never_an_exception_for_the_array():
    # put K=100 S=80, 1y: intrinsic 20; a call worth more than its spot; an expired option.
    kind = ["put", "put", "call", "put", "put"]
    price = [19.0, 25.0, 120.0, 5.0, 20.0]
    t = [1.0, 1.0, 1.0, 0.0, 1.0]
    iv, reason = implied_vol(kind, price, [80.0, 80.0, 100.0, 80.0, 80.0], 100.0, t, 0.05, 0.0,
                             style="american", return_reason=True)
    assert reason[0] == BELOW_INTRINSIC and np.isnan(iv[0])
    assert reason[1] == OK and 0.0 < iv[1] < 1.0
    assert reason[2] == ABOVE_UPPER_BOUND and np.isnan(iv[2])
    assert reason[3] == EXPIRED and np.isnan(iv[3])
    # At intrinsic an American put is exercised: every vol up to the boundary's fits; 0.0.
    assert reason[4] == OK and iv[4] == 0.0


def test_hot_path_solves_a_book_on_a_cached_vol_range():
    rng = np.random.default_rng(4)
    n = 500
    is_call = rng.random(n) < 0.5
    strike = rng.uniform(60.0, 140.0, n)
    t = rng.choice([7, 30, 91, 182, 365, 730], n) / 365.0
    vol = rng.uniform(0.15, 0.6, n)
    price = greeks(is_call, 100.0, strike, t, vol, 0.04, 0.01, style="american")["price"]
    state = american_vol_range(0.04, 0.01, False, 2.0, 0.05, 1.5, with_rho=False)
    out = np.empty(n)
    reason = np.empty(n, dtype=np.int8)
    missing = american_implied_vol_into(is_call, price, 100.0, strike, t, 0.04, 0.01, False,
                                        state, out, reason)
    assert missing == 0
    vega = greeks(is_call, 100.0, strike, t, vol, 0.04, 0.01, style="american")["vega"]
    domain = vega > 1e-4 * strike
    assert (reason[domain] == 0).all()
    assert np.abs(out - vol)[domain].max() < 1e-6


def test_hot_path_reports_quotes_needing_a_vol_octave_it_lacks():
    state = american_vol_range(0.04, 0.01, False, 1.0, 0.2, 0.3, with_rho=False)
    price = greeks("put", 100.0, 100.0, 0.5, 0.9, 0.04, 0.01, style="american")["price"]
    out = np.empty(1)
    reason = np.empty(1, dtype=np.int8)
    missing = american_implied_vol_into(np.array([False]), np.atleast_1d(price), 100.0,
                                        np.array([100.0]), np.array([0.5]), 0.04, 0.01, False,
                                        state, out, reason)
    assert missing == 1 and out[0] > 0.5
