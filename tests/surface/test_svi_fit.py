"""Fitting: recovery of known smiles, noise, SSVI inequalities, rejection of bad fits."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.surface import (
    FitLimits,
    Quotes,
    Slice,
    SsviParams,
    Surface,
    SviParams,
    butterfly_check,
    calendar_check,
    density,
    fit_surface,
    fit_svi_slice,
)
from app.surface.sample import sample_quotes
from app.surface.svi import svi_derivatives

K_CHECK = np.linspace(-1.0, 1.0, 201)
K_WIDE = np.linspace(-1.0, 1.5, 251)

# (a, b, rho, m, sigma), all free of butterfly arbitrage on [-1, 1]: equity skew, negative a,
# right skew, a steep put wing, one whose density comes within 0.004 of zero
KNOWN = [
    (0.02, 0.15, -0.4, 0.05, 0.2),
    (-0.01, 0.2, -0.7, 0.1, 0.15),
    (0.001, 0.05, 0.3, -0.2, 0.15),
    (0.04, 0.4, -0.9, 0.0, 0.3),
    (0.03, 0.4, -0.85, 0.02, 0.15),
]
VOGT = SviParams(a=-0.0410, b=0.1331, rho=0.3060, m=0.3586, sigma=0.4153)


@pytest.mark.parametrize("params", KNOWN)
def test_noiseless_quotes_recover_the_svi_smile_to_1e_6_in_total_variance(params):
    true = SviParams(*params).validate()
    t = 0.5
    k = np.linspace(-0.6, 0.4, 41)
    vol = np.sqrt(true.total_variance(k) / t)
    fitted = fit_svi_slice(k, vol, t)
    fitted.validate()
    err = np.abs(fitted.total_variance(K_CHECK) - true.total_variance(K_CHECK))
    assert err.max() <= 1e-6


@st.composite
def svi_inside_the_fit_domain(draw: st.DrawFn) -> SviParams:
    # The fit's minimum-variance constraint is a polyhedral inner approximation that gives
    # up at most 0.035 b σ (fit kernel docstring): the slack keeps the truth inside it.
    rho = draw(st.floats(-0.95, 0.95))
    b = draw(st.floats(0.02, 1.9 / (1.0 + abs(rho))))
    sigma = draw(st.floats(0.03, 1.0))
    m = draw(st.floats(-0.3, 0.3))
    slack = draw(st.floats(0.04 * b * sigma, 0.04 * b * sigma + 0.05))
    return SviParams(-b * sigma * math.sqrt(1.0 - rho * rho) + slack, b, rho, m, sigma)


@settings(max_examples=40, deadline=None)
@given(svi_inside_the_fit_domain())
@example(SviParams(a=-0.40958, b=1.0, rho=0.5, m=-0.25, sigma=0.5))  # two basins: multi-start
def test_any_smile_inside_the_fit_domain_is_recovered_from_noiseless_quotes(true):
    # butterfly arbitrage or not: without the density penalty the fit is pure least squares
    t = 1.0
    k = np.linspace(-0.5, 0.5, 41)
    w = true.total_variance(k)
    fitted = fit_svi_slice(k, np.sqrt(w / t), t, butterfly_grid=None)
    assert np.abs(fitted.total_variance(k) - w).max() <= 1e-6


def test_quotes_of_an_arbitrageable_smile_are_fitted_without_negative_density():
    t = 1.0
    k = np.linspace(-0.8, 1.2, 41)
    vol = np.sqrt(VOGT.total_variance(k) / t)
    plain = fit_svi_slice(k, vol, t, butterfly_grid=None)
    assert density(*svi_derivatives(plain.as_array(), K_WIDE), K_WIDE).min() < -0.01
    fitted = fit_svi_slice(k, vol, t, butterfly_grid=K_WIDE)
    assert density(*svi_derivatives(fitted.as_array(), K_WIDE), K_WIDE).min() >= 0.0
    err = np.sqrt(fitted.total_variance(k) / t) - vol
    assert np.sqrt(np.mean(err ** 2)) < 0.01  # the closest arbitrage-free smile stays close


def test_quotes_with_0_2_pct_noise_fit_within_10_bp_of_vol(surface):
    quotes = sample_quotes(surface, noise=0.002, seed=20240601)
    fit = fit_surface(quotes, spot=100.0)
    assert fit.accepted, fit.reasons
    assert fit.rms_vol_pts <= 0.10  # 10 bp of vol = 0.10 vol points
    assert all(s.rms_vol_pts <= 0.10 for s in fit.slices)
    assert fit.butterfly is not None and fit.butterfly.ok
    assert butterfly_check(fit.surface, np.linspace(-1.0, 1.0, 401)).ok


def test_noiseless_sample_surface_is_recovered_at_every_expiry(surface):
    fit = fit_surface(sample_quotes(surface), spot=100.0)
    assert fit.accepted and len(fit.slices) == len(surface.slices)
    for got, true in zip(fit.surface.slices, surface.slices, strict=True):
        err = got.params.total_variance(K_CHECK) - true.params.total_variance(K_CHECK)
        assert np.abs(err).max() <= 1e-6


@pytest.mark.parametrize("noise", [0.0, 0.002])
def test_ssvi_fit_respects_its_no_arbitrage_inequalities(surface, noise):
    fit = fit_surface(sample_quotes(surface, noise=noise, seed=3), model="ssvi", spot=100.0)
    assert fit.accepted, fit.reasons
    p = fit.surface.ssvi
    assert p is not None
    assert p.eta * (1.0 + abs(p.rho)) <= 2.0 + 1e-12
    assert 0.0 <= p.gamma <= 0.5 and abs(p.rho) < 1.0
    theta = [float(s.params.total_variance(0.0)) for s in fit.surface.slices]
    assert all(b >= a for a, b in pairwise(theta))
    assert fit.rms_vol_pts <= (1e-6 if noise == 0.0 else 0.10)
    assert fit.butterfly.ok and fit.calendar.ok
    if noise == 0.0:
        assert (p.rho, p.eta, p.gamma) == pytest.approx((-0.7, 1.1, 0.4), abs=1e-6)


def test_ssvi_fit_of_quotes_that_want_more_than_the_bound_stays_on_the_bound():
    # SSVI with η(1 + |ρ|) = 2.4 > 2 and γ = 1/2 is still free of butterfly arbitrage by
    # Gatheral–Jacquier's Thm 4.2 (θφ²(1+|ρ|) = 3.84/(1+θ) ≤ 4), but outside the power-law
    # domain the fit enforces: the fit must stop on the bound.
    wants = SsviParams(rho=-0.5, eta=1.6, gamma=0.5)
    times = [0.25, 0.5, 1.0]
    truth = Surface(tuple(Slice(t, 100.0, wants.slice_params(0.04 * t)) for t in times))
    assert butterfly_check(truth).ok
    t = np.repeat(times, 21)
    k = np.tile(np.linspace(-0.4, 0.3, 21), 3)
    quotes = Quotes.of(100.0 * np.exp(k), t, 100.0, is_call=k >= 0, iv=truth.smile(k, t)[0])
    fit = fit_surface(quotes, model="ssvi")
    assert fit.quotes.used.all()
    p = fit.surface.ssvi
    assert p.eta * (1.0 + abs(p.rho)) == pytest.approx(2.0, abs=1e-9)
    assert fit.butterfly.ok and fit.calendar.ok


def test_quotes_of_crossing_expiries_give_a_calendar_free_fit_that_is_rejected_for_its_error():
    k = np.linspace(-0.3, 0.3, 21)
    near = SviParams(0.02, 0.1, -0.5, 0.0, 0.2)
    far = SviParams(0.01, 0.1, -0.5, 0.0, 0.2)  # less total variance at a later expiry
    quotes = Quotes.of(np.tile(100.0 * np.exp(k), 2), np.repeat([0.25, 0.5], 21), 100.0,
                       iv=np.concatenate([np.sqrt(near.total_variance(k) / 0.25),
                                          np.sqrt(far.total_variance(k) / 0.5)]))
    fit = fit_surface(quotes)
    # the short expiry is held under the long one, so the surface is free of calendar
    # arbitrage, and the conflict shows as the error at the quotes
    assert fit.calendar is not None and fit.calendar.ok
    assert fit.slices[0].rms_vol_pts > 5.0
    assert not fit.accepted
    assert any(r.startswith("RMS error") for r in fit.reasons)
    unconstrained = Surface(tuple(
        Slice(t, 100.0, fit_svi_slice(k, quotes.iv[quotes.t == t], t))
        for t in (0.25, 0.5)))
    assert not calendar_check(unconstrained).ok


def test_a_fit_over_the_rms_limit_is_rejected_with_the_reason(surface):
    fit = fit_surface(sample_quotes(surface, noise=0.05, seed=1),
                      limits=FitLimits(max_rms_vol_pts=0.1))
    assert not fit.accepted
    assert any("RMS error" in r for r in fit.reasons)


def test_an_expiry_with_too_few_quotes_is_left_out_and_the_rest_is_fitted(surface):
    q = sample_quotes(surface)
    first = q.t == q.t.min()
    keep = ~first | (np.cumsum(first) <= 3)
    quotes = Quotes.of(q.strike[keep], q.t[keep], q.forward[keep], is_call=q.is_call[keep],
                       iv=q.iv[keep])
    fit = fit_surface(quotes)
    assert fit.accepted
    assert len(fit.slices) == len(surface.slices) - 1
    assert fit.quotes.counts() == {"too_few_quotes": 3}


def test_no_usable_quote_gives_a_rejected_fit_without_a_surface():
    quotes = Quotes.of([90.0, 100.0], 0.5, 100.0, iv=[0.0, 11.0])
    fit = fit_surface(quotes)
    assert not fit.accepted and fit.surface is None
    assert "no expiry could be fitted" in fit.reasons[0]
    assert fit.as_dict()["quotes"]["rejected_by_reason"] == {"vol_out_of_range": 2}


def test_an_unknown_model_is_refused_by_name(surface):
    with pytest.raises(ValueError, match=r"^model:"):
        fit_surface(sample_quotes(surface), model="sabr")


def test_the_fit_report_is_json_ready(surface):
    import json

    fit = fit_surface(sample_quotes(surface, noise=0.002, seed=5), spot=100.0,
                      expiry={float(surface.times[0]): "2026-01-09"})
    report = json.loads(json.dumps(fit.as_dict()))
    assert report["accepted"] is True and report["model"] == "svi"
    assert report["expiries"][0]["expiry"] == "2026-01-09"
    assert {"a", "b", "rho", "m", "sigma", "n_used", "rms_vol_pts"} <= set(report["expiries"][0])
    assert report["butterfly"]["ok"] and report["calendar"]["ok"]
    assert report["quotes"]["used"] == len(fit.quotes.quotes)
