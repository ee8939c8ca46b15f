"""Raw SVI and SSVI parameters: constraints named on violation, formulas consistent."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.surface import SsviParams, SviParams, ssvi_surface, surface_from_params
from app.surface.svi import svi_derivatives

GOOD = {"t": 0.5, "forward": 100.0, "a": 0.02, "b": 0.15, "rho": -0.4, "m": 0.05,
        "sigma": 0.2}


@st.composite
def valid_svi(draw: st.DrawFn) -> SviParams:
    rho = draw(st.floats(-0.999, 0.999))
    b = draw(st.floats(0.0, 2.0 / (1.0 + abs(rho))))
    sigma = draw(st.floats(1e-3, 2.0))
    m = draw(st.floats(-1.0, 1.0))
    slack = draw(st.floats(0.0, 0.5))
    a = -b * sigma * math.sqrt(1.0 - rho * rho) + slack
    return SviParams(a, b, rho, m, sigma)


@settings(max_examples=200, deadline=None)
@given(valid_svi())
def test_any_valid_raw_svi_passes_validation_and_has_non_negative_total_variance(p):
    p.validate()
    k = np.linspace(-5.0, 5.0, 1001)
    w = p.total_variance(k)
    assert np.all(w >= -1e-12 * (1.0 + np.abs(k)))
    assert p.min_total_variance >= -1e-15


@pytest.mark.parametrize(("field", "value", "named"), [
    ("b", -0.01, "expiries[0].b"),
    ("rho", 1.0, "expiries[0].rho"),
    ("rho", -1.2, "expiries[0].rho"),
    ("sigma", 0.0, "expiries[0].sigma"),
    ("sigma", -0.1, "expiries[0].sigma"),
    ("a", -0.05, "expiries[0].a"),      # a + b σ √(1 − ρ²) < 0
    ("b", 1.6, "expiries[0].b"),        # b (1 + |ρ|) > 2: Lee's bound
    ("a", math.nan, "expiries[0].a"),
    ("t", 0.0, "expiries[0].t"),
    ("forward", -1.0, "expiries[0].forward"),
])
def test_bad_explicit_params_raise_naming_the_parameter(field, value, named):
    with pytest.raises(ValueError, match="^" + re.escape(named) + ":"):
        surface_from_params([dict(GOOD, **{field: value})])


def test_a_missing_parameter_is_named():
    item = dict(GOOD)
    del item["rho"]
    with pytest.raises(ValueError, match=r"^expiries\[0\]\.rho: missing"):
        surface_from_params([item])


def test_a_calendar_arbitrage_against_the_neighbour_names_the_later_expiry():
    later_but_lower = dict(GOOD, t=1.0, a=0.01)
    with pytest.raises(ValueError, match=r"^expiries\[1\]: calendar arbitrage against "
                                         r"expiries\[0\]"):
        surface_from_params([GOOD, later_but_lower])


def test_wings_that_cross_beyond_the_grid_are_a_calendar_arbitrage():
    # later smile higher everywhere near the money but with a flatter right wing
    early = dict(GOOD, a=0.0, b=0.5, rho=0.9)
    late = dict(GOOD, t=1.0, a=0.5, b=0.1, rho=0.0)
    with pytest.raises(ValueError, match=r"^expiries\[1\]: calendar arbitrage"):
        surface_from_params([early, late])


def test_expiries_are_sorted_by_t_and_a_repeated_t_is_refused():
    s = surface_from_params([dict(GOOD, t=1.0, a=0.04), GOOD])
    assert list(s.times) == [0.5, 1.0]
    with pytest.raises(ValueError, match=r"^expiries\[1\]\.t: the same expiry"):
        surface_from_params([GOOD, dict(GOOD)])


@pytest.mark.parametrize(("params", "named"), [
    (SsviParams(rho=-0.7, eta=1.5, gamma=0.4), "ssvi.eta"),   # η (1 + |ρ|) = 2.55 > 2
    (SsviParams(rho=-0.7, eta=1.0, gamma=0.6), "ssvi.gamma"),
    (SsviParams(rho=1.0, eta=0.5, gamma=0.4), "ssvi.rho"),
    (SsviParams(rho=0.0, eta=0.0, gamma=0.4), "ssvi.eta"),
])
def test_ssvi_no_arbitrage_inequalities_are_enforced_naming_the_parameter(params, named):
    with pytest.raises(ValueError, match="^" + re.escape(named) + ":"):
        ssvi_surface(params, [0.5, 1.0], [0.02, 0.04], [100.0, 100.0])


def test_ssvi_theta_decreasing_in_t_is_a_calendar_arbitrage():
    with pytest.raises(ValueError, match=r"^ssvi\.theta\[1\]: must not decrease"):
        ssvi_surface(SsviParams(-0.5, 1.0, 0.4), [0.5, 1.0], [0.04, 0.03], [100.0, 100.0])


@settings(max_examples=100, deadline=None)
@given(st.floats(-0.99, 0.99), st.floats(0.05, 1.0), st.floats(0.0, 0.5),
       st.floats(1e-4, 2.0))
def test_an_ssvi_slice_is_the_raw_svi_of_gatheral_jacquier_lemma_3_2(rho, u, gamma, theta):
    p = SsviParams(rho, 2.0 * u / (1.0 + abs(rho)), gamma)
    k = np.linspace(-2.0, 2.0, 81)
    raw = p.slice_params(theta)
    raw.validate()
    np.testing.assert_allclose(raw.total_variance(k), p.total_variance(k, theta),
                               rtol=1e-12, atol=1e-14)
    assert float(p.total_variance(0.0, theta)) == pytest.approx(theta, rel=1e-12)


def test_svi_derivatives_match_finite_differences():
    p = np.array([0.02, 0.15, -0.4, 0.05, 0.2])
    k = np.linspace(-1.0, 1.0, 41)
    h = 1e-5
    _, wk, wkk = svi_derivatives(p, k)
    wp, wkp, _ = svi_derivatives(p, k + h)
    wm, wkm, _ = svi_derivatives(p, k - h)
    np.testing.assert_allclose(wk, (wp - wm) / (2 * h), atol=1e-9)
    np.testing.assert_allclose(wkk, (wkp - wkm) / (2 * h), atol=1e-8)
