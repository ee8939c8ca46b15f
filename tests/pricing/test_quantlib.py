"""Cross-check against QuantLib's BlackCalculator on a random book spanning the domain."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.pricing import greeks

ql = pytest.importorskip("QuantLib")

FIRST_ORDER = ("price", "delta", "gamma", "vega", "theta", "rho")


def quantlib_figures(is_call, spot, strike, t, vol, rate, q, black76):
    """price, delta, gamma, vega, theta, rho (and vanna) from QuantLib for one option."""
    kind = ql.Option.Call if is_call else ql.Option.Put
    carry = 0.0 if black76 else rate - q
    fwd = spot * math.exp(carry * t)
    calc = ql.BlackCalculator(ql.PlainVanillaPayoff(kind, strike), fwd, vol * math.sqrt(t),
                              math.exp(-rate * t))
    # Black-76 rho holds the future fixed: r and the (implied) carry move together.
    rho = calc.rho(t) + calc.dividendRho(t) if black76 else calc.rho(t)
    # QuantLib's theta is -(ln D·V + ln(F/S)·S·Δ + σ²t/2·S²Γ)/t with ln D and ln(F/S) taken
    # from the rounded D and F: each carries ~1 ulp absolute, amplified by V/t and SΔ/t
    # (short-dated, deep ITM), plus the cancellation of the terms. Return that error scale.
    theta_terms = (abs(calc.value()) * (1.0 + rate * t) + abs(spot * calc.delta(spot))
                   * (1.0 + abs(carry) * t)
                   + 0.5 * vol * vol * t * spot * spot * abs(calc.gamma(spot))) / t
    return (calc.value(), calc.delta(spot), calc.gamma(spot), calc.vega(t),
            calc.theta(spot, t), rho, calc.vanna(spot, t), theta_terms)


def assert_close(name, ours, theirs, rtol=1e-9, atol=1e-12):
    bad = ~(np.abs(ours - theirs) <= rtol * np.abs(theirs) + atol)
    if bad.any():
        i = np.flatnonzero(bad)[:5]
        pytest.fail(f"{name}: {bad.sum()} mismatches, e.g. ours={ours[i]} quantlib={theirs[i]}")


@pytest.mark.parametrize("model", ["bsm", "black76"])
def test_matches_quantlib_on_random_book(book, model):
    black76 = model == "black76"
    g = greeks(book["is_call"], book["spot"], book["strike"], book["t"], book["vol"],
               book["rate"], book["div_yield"], model=model)
    rows = [quantlib_figures(*args, black76) for args in zip(
        book["is_call"], book["spot"], book["strike"], book["t"], book["vol"], book["rate"],
        book["div_yield"], strict=True)]
    ql_fig = np.array(rows).T
    # QuantLib computes N(d) as (1 + erf(d/√2))/2, exact to ~1 ulp absolute but not relative
    # in the left tail, and its theta from logs of rounded D and F (see quantlib_figures).
    # Our figures are compared to 1e-9 relative, or within those absolute error scales.
    ql_ulps = 16 * np.finfo(float).eps  # a few ulps of N, times the terms multiplying it
    s, k, t = book["spot"], book["strike"], book["t"]
    atol = {
        "price": ql_ulps * (s + k) + 1e-12,
        "delta": ql_ulps + 1e-12,
        "gamma": np.full(len(s), 1e-12),
        "vega": np.full(len(s), 1e-12),
        "theta": ql_ulps * (ql_fig[7] + np.abs(book["rate"]) * k + book["div_yield"] * s) + 1e-12,
        "rho": ql_ulps * t * (k + np.abs(ql_fig[0])) + 1e-12,
    }
    for j, name in enumerate(FIRST_ORDER):
        assert_close(name, g[name], ql_fig[j], atol=atol[name])
    assert_close("vanna", g["vanna"], ql_fig[6], rtol=1e-8)
    assert np.isfinite(np.array(list(g.values()))).all()


def test_conventions_match_quantlib_engine():
    """theta per year / vega per 1.00 / rho per 1.00 as QuantLib's AnalyticEuropeanEngine."""
    today = ql.Date(3, 6, 2024)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    spot, strike, vol, r, q, days = 100.0, 95.0, 0.3, 0.04, 0.015, 146
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, q, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc)))
    for kind in ("call", "put"):
        option = ql.VanillaOption(
            ql.PlainVanillaPayoff(ql.Option.Call if kind == "call" else ql.Option.Put, strike),
            ql.EuropeanExercise(today + days))
        option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
        g = greeks(kind, spot, strike, days / 365.0, vol, r, q)
        for name, value in (("price", option.NPV()), ("delta", option.delta()),
                            ("gamma", option.gamma()), ("vega", option.vega()),
                            ("theta", option.theta()), ("rho", option.rho())):
            assert float(g[name]) == pytest.approx(value, rel=1e-9), name
