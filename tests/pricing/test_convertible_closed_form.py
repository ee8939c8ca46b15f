"""q = 0, no spread, no coupon: the convertible is a zero-coupon bond plus conversion_ratio
European calls struck at face / ratio (never converted early), in closed form."""

from __future__ import annotations

import math

import pytest

from app.pricing import greeks
from app.pricing.convertible import ConvertibleTerms, GridSpec, convertible_figures

CASES = [  # ratio, maturity, vol, rate, spot
    (8.0, 3.0, 0.30, 0.04, 100.0),
    (5.0, 1.5, 0.45, 0.01, 230.0),
    (12.0, 5.0, 0.20, 0.06, 60.0),
]


def closed_form(ratio, maturity, vol, rate, spot):
    call = greeks("call", spot, 1000.0 / ratio, maturity, vol, rate)
    return (1000.0 * math.exp(-rate * maturity) + ratio * float(call["price"]),
            ratio * float(call["delta"]), ratio * float(call["gamma"]))


def grid(n, steps):
    return GridSpec(space_nodes=n, min_steps=steps, steps_per_year=1.0)


@pytest.mark.parametrize(("ratio", "maturity", "vol", "rate", "spot"), CASES)
def test_zero_coupon_without_spread_is_bond_plus_calls_to_1e6(ratio, maturity, vol, rate,
                                                              spot):
    price, delta, gamma = closed_form(ratio, maturity, vol, rate, spot)
    terms = ConvertibleTerms(conversion_ratio=ratio, maturity=maturity)
    coarse = convertible_figures(terms, spot, vol, rate, grid=grid(400, 100))
    fine = convertible_figures(terms, spot, vol, rate, grid=grid(800, 200))
    # Second order in S and t: halving both steps quarters the error ...
    ratio_of_errors = (coarse["price"][0] - price) / (fine["price"][0] - price)
    assert 3.5 < ratio_of_errors < 4.5
    # ... so one Richardson step removes it.
    extrapolated = (4.0 * fine["price"][0] - coarse["price"][0]) / 3.0
    assert extrapolated == pytest.approx(price, rel=1e-6)
    assert (4.0 * fine["delta"][0] - coarse["delta"][0]) / 3.0 == pytest.approx(delta, rel=1e-6)
    assert fine["price"][0] == pytest.approx(price, rel=5e-6)
    assert fine["gamma"][0] == pytest.approx(gamma, rel=1e-4)


def test_default_grid_is_within_a_hundredth_of_a_percent_of_face():
    price, delta, _ = closed_form(*CASES[0])
    ratio, maturity, vol, rate, spot = CASES[0]
    f = convertible_figures(ConvertibleTerms(conversion_ratio=ratio, maturity=maturity), spot,
                            vol, rate)
    assert abs(f["price"][0] - price) < 1e-4 * 1000.0
    assert abs(f["delta"][0] - delta) < 1e-3 * ratio
