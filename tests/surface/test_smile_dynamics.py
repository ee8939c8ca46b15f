"""Stickiness: vols at a new spot, the smile-adjusted delta and gamma against full
revaluation, and vega buckets."""

from __future__ import annotations

import numpy as np
import pytest

from app.pricing import greeks
from app.surface import (
    Slice,
    Surface,
    SviParams,
    smile_delta_gamma,
    smile_vols,
    vega_buckets,
)

SPOT, RATE, DIV = 100.0, 0.03, 0.01  # the market of the `surface` fixture


def _book(surface: Surface):
    """Calls and puts across strikes, on node expiries, between them, before the first and
    after the last."""
    rng = np.random.default_rng(12)
    n = 300
    t = np.concatenate([rng.choice(surface.times, 100), rng.uniform(0.01, 3.0, 200)])
    strike = SPOT * np.exp(rng.uniform(-0.5, 0.3, n) * np.sqrt(np.maximum(t, 0.05)))
    return rng.random(n) < 0.5, strike, t


def _forward(spot, t):
    return spot * np.exp((RATE - DIV) * t)


def _value(surface, is_call, strike, t, spot, stickiness):
    sv = smile_vols(surface, strike, t, _forward(spot, t), spot=spot, stickiness=stickiness)
    return greeks(is_call, spot, strike, t, sv.vol, RATE, DIV)["price"]


@pytest.mark.parametrize("stickiness", ["moneyness", "strike"])
def test_smile_delta_and_gamma_match_full_revaluation(surface, stickiness):
    is_call, strike, t = _book(surface)
    spot = 103.0  # away from the fit spot, so sticky strike is not read at its own forwards
    sv = smile_vols(surface, strike, t, _forward(spot, t), spot=spot, stickiness=stickiness)
    g = greeks(is_call, spot, strike, t, sv.vol, RATE, DIV)
    delta, gamma = smile_delta_gamma(g["delta"], g["gamma"], g["vega"], g["vanna"], g["volga"],
                                     sv)
    h = 0.01
    up = _value(surface, is_call, strike, t, spot + h, stickiness)
    mid = _value(surface, is_call, strike, t, spot, stickiness)
    dn = _value(surface, is_call, strike, t, spot - h, stickiness)
    fd_delta = (up - dn) / (2 * h)
    assert np.abs(delta - fd_delta).max() <= 1e-4
    h2 = 0.1
    fd_gamma = (_value(surface, is_call, strike, t, spot + h2, stickiness) - 2 * mid
                + _value(surface, is_call, strike, t, spot - h2, stickiness)) / h2 ** 2
    assert np.abs(gamma - fd_gamma).max() <= 1e-4
    if stickiness == "moneyness":  # the smile moves: delta differs from Black-Scholes
        assert np.abs(delta - g["delta"]).max() > 1e-3
    else:
        np.testing.assert_array_equal(delta, g["delta"])


def test_sticky_moneyness_with_a_cash_dividend_forward_matches_full_revaluation(surface):
    # F(S) = (S − D) e^{rt}: affine, F_S = e^{rt} ≠ F/S; priced as Black-76 on F(S)
    is_call, strike, t = _book(surface)
    dividend = 2.0

    def forward(s):
        return (s - dividend) * np.exp(RATE * t)

    def value(s):
        sv = smile_vols(surface, strike, t, forward(s), spot=s,
                        dforward_dspot=np.exp(RATE * t))
        return greeks(is_call, forward(s), strike, t, sv.vol, RATE, model="black76")["price"]

    spot, h = 100.0, 0.01
    sv = smile_vols(surface, strike, t, forward(spot), spot=spot,
                    dforward_dspot=np.exp(RATE * t))
    g = greeks(is_call, forward(spot), strike, t, sv.vol, RATE, model="black76")
    delta = g["delta"] * np.exp(RATE * t) + g["vega"] * sv.dvol_dspot
    assert np.abs(delta - (value(spot + h) - value(spot - h)) / (2 * h)).max() <= 1e-4


def test_sticky_strike_keeps_each_vol_and_sticky_moneyness_moves_it(surface):
    strike, t = np.array([80.0, 100.0, 120.0]), np.array([0.5, 0.5, 0.5])
    at_fit = smile_vols(surface, strike, t, _forward(SPOT, t), spot=SPOT, stickiness="strike")
    moved = smile_vols(surface, strike, t, _forward(110.0, t), spot=110.0, stickiness="strike")
    np.testing.assert_allclose(moved.vol, at_fit.vol, rtol=1e-13)
    assert not moved.dvol_dspot.any() and not moved.d2vol_dspot2.any()
    sticky_m = smile_vols(surface, strike, t, _forward(110.0, t), spot=110.0)
    # the same moneyness at the new spot: the 110 strike now has the old 100 strike's vol
    shifted = smile_vols(surface, strike * 1.1, t, _forward(110.0, t), spot=110.0)
    np.testing.assert_allclose(shifted.vol, at_fit.vol, rtol=1e-12)
    # put skew: the old at-the-money strike is now in the put wing, at a higher vol; a fixed
    # strike's vol rises with spot
    assert sticky_m.vol[1] > at_fit.vol[1]
    assert np.all(sticky_m.dvol_dspot > 0)


def test_sticky_strike_needs_the_fit_spot():
    bare = Surface((Slice(0.5, 100.0, SviParams(0.02, 0.1, -0.5, 0.0, 0.2)),))
    with pytest.raises(ValueError, match=r"^spot:"):
        smile_vols(bare, 100.0, 0.5, 100.0, spot=100.0, stickiness="strike")
    with pytest.raises(ValueError, match=r"^stickiness:"):
        smile_vols(bare, 100.0, 0.5, 100.0, spot=100.0, stickiness="delta")


def _flat_term_structure(vols, times):
    return Surface(tuple(Slice(t, 100.0, SviParams(v * v * t, 0.0, 0.0, 0.0, 0.1))
                         for v, t in zip(vols, times, strict=True)), spot=100.0)


def test_vega_buckets_match_a_parallel_bump_of_each_smile():
    # flat smiles: a parallel vol bump of node i is the SVI with a = T_i (σ_i + ε)²
    times, vols = (0.25, 0.5, 1.0), (0.3, 0.25, 0.22)
    base = _flat_term_structure(vols, times)
    t = np.array([0.1, 0.25, 0.4, 0.5, 0.75, 1.0, 2.0])
    k = np.zeros_like(t)
    buckets = base.vega_buckets(k, t)
    eps = 1e-6
    for i in range(3):
        bumped = _flat_term_structure([v + eps * (j == i) for j, v in enumerate(vols)], times)
        dvol = (bumped.smile(k, t)[0] - base.smile(k, t)[0]) / eps
        weight = (np.where(buckets.lower == i, buckets.lower_weight, 0.0)
                  + np.where(buckets.upper == i, buckets.upper_weight, 0.0))
        np.testing.assert_allclose(weight, dvol, atol=1e-6)
    np.testing.assert_array_equal(buckets.lower, [0, 0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(buckets.upper, [0, 0, 1, 1, 2, 2, 2])


def test_vega_bucket_weights_add_to_one_on_a_flat_surface_and_sum_per_expiry():
    flat = _flat_term_structure((0.2, 0.2, 0.2), (0.25, 0.5, 1.0))
    t = np.linspace(0.01, 3.0, 50)
    b = vega_buckets(flat, np.full(50, 110.0), t, np.full(50, 100.0), spot=100.0)
    np.testing.assert_allclose(b.lower_weight + b.upper_weight, 1.0, rtol=1e-12)
    per = b.per_expiry(np.ones(50), 3)
    assert per.shape == (3,) and per.sum() == pytest.approx(50.0)


def test_vega_buckets_on_a_smile_split_by_the_neighbours_vols(surface):
    t = np.array([0.375])  # between the 0.25 and 0.5 nodes
    k = np.array([-0.2])
    b = surface.vega_buckets(k, t)
    lo, hi = surface.smile(k, np.array([0.25]))[0], surface.smile(k, np.array([0.5]))[0]
    vol = surface.smile(k, t)[0]
    assert b.lower[0] == 3 and b.upper[0] == 4
    assert b.lower_weight[0] == pytest.approx(0.5 * 0.25 * lo[0] / (0.375 * vol[0]))
    assert b.upper_weight[0] == pytest.approx(0.5 * 0.5 * hi[0] / (0.375 * vol[0]))
