"""American options against QuantLib's QdFpAmericanEngine (high-precision scheme).

2,000 random options (1,000 per model): moneyness S/K 0.5-2, strikes 50-150, 1 day - 3 years
(whole days: QuantLib counts dates), vol 5-100 %, r 0-10 %, q 0-12 % (Black-76: q = r),
calls and puts. Price within 1e-5 × strike at worst and 1e-6 × strike RMS; delta within
1e-4; gamma, vega, rho within 1e-3 relative (or 1e-6 × strike in price units where tiny);
theta within 1e-3 relative of the engine's ±1-day difference (t >= 60 days).
"""

from __future__ import annotations

import numpy as np
import pytest

from app.pricing import greeks

pytest.importorskip("QuantLib")

from ql_american import american_price, recomputed_sample, reference_figures, stored_prices


def american_book(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    strike = rng.uniform(50.0, 150.0, n)
    days = rng.integers(1, 3 * 365 + 1, n)
    return {
        "is_call": rng.random(n) < 0.5,
        "spot": strike * rng.uniform(0.5, 2.0, n),
        "strike": strike,
        "days": days,
        "vol": rng.uniform(0.05, 1.0, n),
        "rate": rng.uniform(0.0, 0.10, n),
        "div_yield": rng.uniform(0.0, 0.12, n),
    }


def ours(book: dict[str, np.ndarray], model: str, **bump: np.ndarray) -> dict[str, np.ndarray]:
    a = {"spot": book["spot"], "t": book["days"] / 365.0, "vol": book["vol"],
         "rate": book["rate"]} | bump
    return greeks(book["is_call"], a["spot"], book["strike"], a["t"], a["vol"], a["rate"],
                  book["div_yield"], model=model, style="american")


def _exercised(g: dict[str, np.ndarray]) -> np.ndarray:
    # In the exercise region: delta exactly ±1 and gamma exactly 0 (see greeks docstring).
    return (np.abs(g["delta"]) == 1.0) & (g["gamma"] == 0.0)


def test_american_prices_match_quantlib_on_a_small_book():
    book = american_book(120, seed=3)
    for model in ("bsm", "black76"):
        q = book["rate"] if model == "black76" else book["div_yield"]
        ref = np.array([american_price(bool(c), float(s), float(k), float(r), float(qq),
                                       float(v), int(d))
                        for c, s, k, r, qq, v, d in zip(book["is_call"], book["spot"],
                                                        book["strike"], book["rate"], q,
                                                        book["vol"], book["days"],
                                                        strict=True)])
        err = np.abs(ours(book, model)["price"] - ref) / book["strike"]
        assert err.max() < 1e-5, (model, err.max())


@pytest.mark.slow
@pytest.mark.parametrize(("model", "seed"), [("bsm", 20250101), ("black76", 20250102)])
def test_american_figures_match_quantlib_on_1000_random_options(model, seed):
    book = american_book(1000, seed)
    prices = stored_prices(book, model == "black76")
    # The stored engine prices are QuantLib's: a fresh sample, computed now, agrees.
    sample = np.random.default_rng().choice(1000, 12, replace=False)
    live = recomputed_sample(book, model == "black76", sample)
    for name, values in live.items():
        np.testing.assert_allclose(prices[name][sample], values, rtol=1e-12, atol=1e-14)
    ref = reference_figures(book, model == "black76", prices)
    g = ours(book, model)
    k, s, t = book["strike"], book["spot"], book["days"] / 365.0
    price_err = (g["price"] - ref[0]) / k
    assert np.abs(price_err).max() < 1e-5, np.abs(price_err).max()
    assert np.sqrt(np.mean(price_err ** 2)) < 1e-6, np.sqrt(np.mean(price_err ** 2))
    # Central differences that straddle the exercise boundary are not derivatives there:
    # leave out the options whose bumped spots fall on different sides of it.
    hs = 0.03 * s * book["vol"] * np.sqrt(t)
    up, dn, here = _exercised(ours(book, model, spot=s + hs)), \
        _exercised(ours(book, model, spot=s - hs)), _exercised(g)
    clean = (up == dn) & (up == here)
    assert clean.mean() > 0.97
    # The same for vol and rate bumps: where they move the boundary across spot, the
    # engine's differences are not derivatives either.
    # And spots within 1e-5 of the boundary: the two engines' boundaries differ by ~1e-6.
    v, r = book["vol"], book["rate"]
    for bumped in ({"vol": v * (1 + 3e-3)}, {"vol": v * (1 - 3e-3)}, {"rate": r + 2e-4},
                   {"rate": np.where(r >= 2e-4, r - 2e-4, r + 4e-4)}, {"spot": s * (1 + 1e-5)},
                   {"spot": s * (1 - 1e-5)}):
        clean &= _exercised(ours(book, model, **bumped)) == here
    d_err = np.abs(g["delta"] - ref[1])[clean]
    assert d_err.max() < 1e-4, d_err.max()
    # Second-order and rate/vol figures in the continuation region (in the exercise region
    # ours are exactly 0 while the engine, which does not snap to intrinsic there, gives
    # differences of its ~1e-10 noise).
    clean &= ~here
    gamma_tol = 1e-3 * np.abs(ref[2]) + 1e-6 * k / s ** 2
    assert (np.abs(g["gamma"] - ref[2]) <= gamma_tol)[clean].all()
    # rho: below r = 1e-3 the engine's differences (steps of 2e-4) are no reference: where
    # the rate also drives early exercise (puts, Black-76), the premium vanishes at r = 0
    # with a curvature on the scale of r itself.
    rho_ok = clean & ((book["rate"] >= 1e-3) | (book["is_call"] & (model == "bsm")))
    for row, name, ok in ((3, "vega", clean), (4, "rho", rho_ok)):
        tol = 1e-3 * np.abs(ref[row]) + 1e-6 * k
        bad = ok & (np.abs(g[name] - ref[row]) > tol)
        assert not bad.any(), (name, np.flatnonzero(bad)[:5], g[name][bad][:5], ref[row][bad][:5])
    # theta: the engine's ±1 day difference (t >= 60 days, away from the boundary in time).
    later = _exercised(ours(book, model, t=t - 1 / 365.0))
    earlier = _exercised(ours(book, model, t=t + 1 / 365.0))
    timed = np.isfinite(ref[5]) & (later == here) & (earlier == here)
    theta_tol = 1e-3 * np.abs(ref[5]) + 1e-5 * k
    assert (np.abs(g["theta"] - ref[5]) <= theta_tol)[timed].all()
