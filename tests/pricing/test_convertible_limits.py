"""Limits: no spread and no coupon → bond + American call; deep in the money → conversion
value; spot → 0 → bond floor; a call below conversion value forces conversion; matured."""

from __future__ import annotations

import math

import pytest

from app.pricing.convertible import ConvertibleTerms, GridSpec, convertible_figures

ql = pytest.importorskip("QuantLib")

FACE = 1000.0
REFINED = GridSpec(space_nodes=400, steps_per_year=100.0, min_steps=100)


def american_call(spot, strike, vol, rate, div_yield, years):
    """QuantLib's finite-difference American call: (price, delta)."""
    today = ql.Date(15, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, div_yield, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, rate, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc)))
    option = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call, strike),
                              ql.AmericanExercise(today, today + round(365 * years)))
    option.setPricingEngine(ql.FdBlackScholesVanillaEngine(process, 800, 800, 1,
                                                           ql.FdmSchemeDesc.Douglas()))
    return option.NPV(), option.delta()


@pytest.mark.parametrize(("ratio", "years", "vol", "rate", "div_yield", "spot"), [
    (8.0, 3.0, 0.30, 0.04, 0.03, 100.0),
    (8.0, 5.0, 0.25, 0.02, 0.05, 130.0),
    (10.0, 2.0, 0.40, 0.05, 0.02, 80.0),
])
def test_without_spread_or_coupon_it_is_a_bond_plus_an_american_call(ratio, years, vol, rate,
                                                                    div_yield, spot):
    """Converting at τ swaps the bond, worth face·P(τ, T), for ratio·S_τ: in the forward
    F = S e^{r(T - t)} (drift -q) that is an American call on ratio shares of F struck at
    face / ratio with no discounting, so V = e^{-rT} (face + ratio · AmericanCall(F_0))."""
    years = round(365 * years) / 365.0
    growth = math.exp(rate * years)
    call, call_delta = american_call(spot * growth, FACE / ratio, vol, 0.0, div_yield, years)
    value = (FACE + ratio * call) / growth
    delta = ratio * call_delta  # dF/dS = e^{rT} cancels the discount
    ours = convertible_figures(ConvertibleTerms(conversion_ratio=ratio, maturity=years), spot,
                               vol, rate, div_yield, grid=REFINED)
    assert abs(ours["price"][0] - value) < 5e-5 * FACE
    assert abs(ours["delta"][0] - delta) < 2e-4 * ratio
    default = convertible_figures(ConvertibleTerms(conversion_ratio=ratio, maturity=years),
                                  spot, vol, rate, div_yield)
    assert abs(default["price"][0] - value) < 5e-4 * FACE


def test_deep_in_the_money_it_is_worth_its_conversion_value():
    terms = ConvertibleTerms(conversion_ratio=8.0, maturity=4.0, coupon_rate=0.01,
                             credit_spread=0.03)
    f = convertible_figures(terms, 5 * 125.0, 0.3, 0.04, 0.03)  # converted already
    assert f["price"][0] == pytest.approx(8.0 * 625.0, rel=1e-12)
    assert f["delta"][0] == pytest.approx(8.0, rel=1e-9)
    assert f["conversion_premium"][0] == pytest.approx(0.0, abs=1e-12)
    zc = convertible_figures(ConvertibleTerms(conversion_ratio=8.0, maturity=4.0), 8 * 125.0,
                             0.3, 0.04)  # q = 0: never converted early, premium → 0
    assert zc["conversion_premium"][0] < 1e-4
    assert zc["delta"][0] == pytest.approx(8.0, rel=1e-4)


def test_as_spot_goes_to_zero_it_is_worth_its_bond_floor():
    r, s = 0.04, 0.03
    terms = ConvertibleTerms(conversion_ratio=8.0, maturity=3.0, coupon_rate=0.02,
                             coupon_frequency=2, credit_spread=s, put_schedule=((1.5, 1010.0),))
    f = convertible_figures(terms, 0.01, 0.3, r)
    # By hand: after the put date the bond pays 10 at 2.0, 2.5 and 1010 at 3.0; at 1.5 the
    # holder takes the larger of that and the put price (the coupon of 1.5 paid either way).
    after = sum(c * math.exp(-(r + s) * (t - 1.5)) for t, c in ((2.0, 10.0), (2.5, 10.0),
                                                                 (3.0, 1010.0)))
    floor = sum(10.0 * math.exp(-(r + s) * t) for t in (0.5, 1.0, 1.5))
    floor += max(after, 1010.0) * math.exp(-(r + s) * 1.5)
    assert f["bond_floor"][0] == pytest.approx(floor, rel=1e-12)
    # The grid's own discounting (Crank–Nicolson, Rannacher restarts at every coupon) is
    # second order in time: 2e-5 of face at the default 25 steps a year, 16 times less at 100.
    assert f["price"][0] == pytest.approx(floor, abs=5e-5 * FACE)
    assert abs(f["delta"][0]) < 1e-6
    refined = convertible_figures(terms, 0.01, 0.3, r, grid=REFINED)
    assert refined["price"][0] == pytest.approx(floor, abs=5e-6 * FACE)


def test_a_call_below_conversion_value_forces_conversion():
    hard = ConvertibleTerms(conversion_ratio=8.0, maturity=4.0, coupon_rate=0.02,
                            credit_spread=0.03, call_schedule=((0.0, 4.0, 1000.0),))
    f = convertible_figures(hard, 150.0, 0.3, 0.04)  # ratio S = 1,200 > 1,000 + accrued
    assert f["price"][0] == pytest.approx(1200.0, rel=1e-12)
    assert f["delta"][0] == pytest.approx(8.0, rel=1e-12)
    assert f["gamma"][0] == 0.0 and f["vega"][0] == 0.0
    soft = ConvertibleTerms(conversion_ratio=8.0, maturity=4.0, credit_spread=0.03,
                            call_schedule=((0.0, 4.0, 1000.0, 1.3),))
    assert convertible_figures(soft, 170.0, 0.3, 0.04)["price"][0] == pytest.approx(1360.0)
    # Below the trigger the soft call does not bind: worth more than conversion.
    assert convertible_figures(soft, 150.0, 0.3, 0.04)["price"][0] > 1200.0 + 1.0


def test_a_matured_bond_is_redeemed_or_converted():
    terms = ConvertibleTerms(conversion_ratio=8.0, maturity=0.0)
    low = convertible_figures(terms, 100.0, 0.3, 0.04)
    high = convertible_figures(terms, 150.0, 0.3, 0.04)
    assert low["price"][0] == pytest.approx(1000.0)
    assert high["price"][0] == pytest.approx(1200.0)
    assert low["theta"][0] == 0.0 and high["vega"][0] == 0.0
