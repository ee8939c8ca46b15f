"""Butterfly (density) and calendar checks."""

from __future__ import annotations

import numpy as np
import pytest

from app.surface import (
    Slice,
    Surface,
    SviParams,
    butterfly_check,
    calendar_check,
    density,
    surface_from_params,
)
from app.surface.svi import svi_derivatives

# Axel Vogt's example (Gatheral & Jacquier 2014, Example 3.1): valid raw SVI parameters whose
# density is negative - a butterfly arbitrage.
VOGT = SviParams(a=-0.0410, b=0.1331, rho=0.3060, m=0.3586, sigma=0.4153)


def _surface(*params: SviParams, times=(0.5, 1.0)) -> Surface:
    return Surface(tuple(Slice(t, 100.0, p) for t, p in zip(times, params, strict=False)))


def test_vogts_example_is_valid_svi_but_fails_the_density_check():
    VOGT.validate()
    check = butterfly_check(_surface(VOGT, times=(1.0,)))
    assert not check.ok
    assert check.min_density < 0.0
    assert 0.0 < check.at_k < 1.0 and check.at_t == 1.0
    assert check.reason().startswith("butterfly arbitrage: density g(k) = -")


def test_the_sample_surface_passes_both_checks(surface):
    assert butterfly_check(surface, np.linspace(-1.5, 1.5, 301)).ok
    assert calendar_check(surface).ok


def test_density_matches_the_second_derivative_of_undiscounted_call_prices():
    # g(k) n(d2)/√w is the density of ln(S_T/F): check against d²C/dK² of Black prices
    from app.pricing import greeks

    p = SviParams(0.02, 0.15, -0.4, 0.05, 0.2)
    t, f = 1.0, 100.0
    k = np.linspace(-0.6, 0.6, 13)
    strikes = f * np.exp(k)
    h = 1e-3 * strikes

    def call(kk):
        vol = np.sqrt(p.total_variance(np.log(kk / f)) / t)
        return greeks("call", f, kk, t, vol, 0.0, model="black76")["price"]

    fd = (call(strikes + h) - 2 * call(strikes) + call(strikes - h)) / h ** 2
    w, wk, wkk = svi_derivatives(p.as_array(), k)
    d2 = -k / np.sqrt(w) - np.sqrt(w) / 2
    analytic = density(w, wk, wkk, k) * np.exp(-d2 ** 2 / 2) / np.sqrt(2 * np.pi * w) / strikes
    np.testing.assert_allclose(fd, analytic, rtol=1e-4)


def test_crossing_slices_fail_the_calendar_check_with_where():
    low_later = SviParams(0.01, 0.1, -0.5, 0.0, 0.2)
    high_earlier = SviParams(0.02, 0.1, -0.5, 0.0, 0.2)
    check = calendar_check(_surface(high_earlier, low_later))
    assert not check.ok
    assert check.min_increase == pytest.approx(-0.01)
    assert check.between == (0.5, 1.0)
    assert "calendar arbitrage" in check.reason()


def test_slices_that_cross_only_in_the_far_wing_fail_the_calendar_check():
    early = SviParams(0.0, 0.5, 0.9, 0.0, 0.1)   # right wing slope 0.95
    late = SviParams(0.5, 0.1, 0.0, 0.0, 0.1)    # higher near the money, slope 0.1
    assert np.all(late.total_variance(np.linspace(-0.5, 0.5, 11))
                  > early.total_variance(np.linspace(-0.5, 0.5, 11)))
    check = calendar_check(_surface(early, late))
    assert not check.ok and check.at_k > 0.5


def test_the_time_rule_between_and_beyond_nodes_keeps_total_variance_non_decreasing(surface):
    k = np.linspace(-1.0, 1.0, 41)
    t = np.concatenate([np.linspace(1e-3, 3.0, 400), surface.times])
    t.sort()
    kk, tt = np.meshgrid(k, t)
    w = surface.total_variance(kk.ravel(), tt.ravel())[0].reshape(tt.shape)
    assert np.all(np.diff(w, axis=0) >= -1e-15)


def test_a_single_node_surface_has_no_calendar_pair():
    check = calendar_check(_surface(SviParams(0.02, 0.1, -0.5, 0.0, 0.2), times=(0.5,)))
    assert check.ok and check.between is None


def test_explicit_params_are_accepted_when_free_of_calendar_arbitrage(surface):
    items = [s.as_dict() for s in surface.slices]
    again = surface_from_params(items, spot=100.0)
    np.testing.assert_allclose(again.params, surface.params)
    assert again.model == "svi" and again.spot == 100.0
