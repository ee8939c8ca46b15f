"""American edges: expiry, the exercise region, when early exercise never pays, negative
rates, zero vol, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.pricing import GREEK_NAMES, greeks

MODELS = ["bsm", "black76"]
AFTER_DELTA = ("gamma", "vega", "theta", "rho", "vanna", "volga", "charm")


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("t", [0.0, -0.25])
def test_american_at_or_past_expiry_is_intrinsic(model, t):
    spot = np.array([90.0, 100.0, 110.0])
    call = greeks("call", spot, 100.0, t, 0.2, 0.05, 0.02, model=model, style="american")
    put = greeks("put", spot, 100.0, t, 0.2, 0.05, 0.02, model=model, style="american")
    np.testing.assert_array_equal(call["price"], [0.0, 0.0, 10.0])
    np.testing.assert_array_equal(put["price"], [10.0, 0.0, 0.0])
    np.testing.assert_array_equal(call["delta"], [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(put["delta"], [-1.0, 0.0, 0.0])
    for name in AFTER_DELTA:
        np.testing.assert_array_equal(call[name], 0.0)
        np.testing.assert_array_equal(put[name], 0.0)


@pytest.mark.parametrize("model", MODELS)
def test_deep_in_the_money_put_is_exercised_intrinsic_delta_minus_one(model):
    g = greeks("put", [40.0, 55.0], 100.0, 1.0, 0.25, 0.08, 0.0, model=model, style="american")
    np.testing.assert_array_equal(g["price"], [60.0, 45.0])
    np.testing.assert_array_equal(g["delta"], [-1.0, -1.0])
    for name in AFTER_DELTA:
        np.testing.assert_array_equal(g[name], 0.0)


def test_call_without_dividends_is_worth_its_european_value():
    args = ("call", [80.0, 100.0, 130.0], 100.0, [0.1, 1.0, 3.0], 0.3, [0.0, 0.05, 0.1], 0.0)
    american = greeks(*args, style="american")
    european = greeks(*args)
    for name in GREEK_NAMES:
        np.testing.assert_allclose(american[name], european[name], rtol=1e-14, atol=1e-300)


def test_american_is_never_below_european_nor_intrinsic(book):
    for model in MODELS:
        b = {k: v[:600] for k, v in book.items()}
        args = (b["is_call"], b["spot"], b["strike"], b["t"], np.minimum(b["vol"], 2.0),
                np.abs(b["rate"]), b["div_yield"])
        american = greeks(*args, model=model, style="american")["price"]
        european = greeks(*args, model=model)["price"]
        intrinsic = np.where(b["is_call"], b["spot"] - b["strike"], b["strike"] - b["spot"])
        assert (american >= european).all()
        assert (american >= intrinsic).all()
        assert np.isfinite(american).all()


def test_black76_calls_on_futures_are_exercised_early():
    # A deep in-the-money call on a future: the futures price does not drift, holding it only
    # loses the interest on the intrinsic value, so it is exercised (Black-76: q = r).
    g = greeks("call", [150.0, 300.0], 100.0, 1.0, 0.2, 0.08, model="black76", style="american")
    e = greeks("call", [150.0, 300.0], 100.0, 1.0, 0.2, 0.08, model="black76")
    assert g["price"][0] > e["price"][0] + 0.5
    assert g["price"][1] == 200.0 and g["delta"][1] == 1.0


@pytest.mark.parametrize("kind", ["call", "put"])
def test_negative_rates_without_early_exercise_give_the_european_figures(kind):
    # Put with r <= 0 and q >= r, call with q <= 0 and r >= q: waiting is never worse.
    rate, div = (-0.01, 0.02) if kind == "put" else (0.01, -0.005)
    american = greeks(kind, [80.0, 100.0, 120.0], 100.0, 1.5, 0.3, rate, div, style="american")
    european = greeks(kind, [80.0, 100.0, 120.0], 100.0, 1.5, 0.3, rate, div)
    for name in GREEK_NAMES:
        np.testing.assert_allclose(american[name], european[name], rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("rate", [1e-300, 1e-145, 1e-60, 1e-21])
def test_a_vanishing_rate_gives_no_early_exercise_not_a_price_below_european(rate):
    # hypothesis found r = q = 3e-145: the boundary solve's logarithms underflowed and the
    # put came out exercised (intrinsic) below its European value
    args = ("put", 20.0, 20.0 * math.exp(0.01), 1 / 365, 0.05, rate, rate)
    american = greeks(*args, style="american")
    european = greeks(*args)
    for name in GREEK_NAMES:
        assert float(american[name]) == pytest.approx(float(european[name]), abs=1e-15), name


@pytest.mark.parametrize("kind", ["call", "put"])
def test_negative_rates_with_two_boundaries_are_priced_on_the_grid(kind):
    # Put with q < r < 0 (call: r < q < 0): exercised only between two boundaries.
    rate, div = (-0.01, -0.04) if kind == "put" else (-0.04, -0.01)
    spot = np.array([70.0, 100.0, 140.0])
    american = greeks(kind, spot, 100.0, 2.0, 0.3, rate, div, style="american")
    european = greeks(kind, spot, 100.0, 2.0, 0.3, rate, div)
    assert all(np.isfinite(v).all() for v in american.values())
    assert (american["price"] >= european["price"] - 2e-4 * 100).all()
    assert (american["price"] > european["price"]).any()


def test_zero_vol_american_put_exercises_at_the_best_time():
    # S e^{-qt} path is deterministic: the put (r = 5 %) is exercised now: K - S = 10 beats
    # waiting (K e^{-rt} - S = 5.12).
    g = greeks("put", 90.0, 100.0, 1.0, 0.0, 0.05, 0.0, style="american")
    assert float(g["price"]) == pytest.approx(10.0, abs=1e-12)
    assert float(g["delta"]) == -1.0
    # A call with a 10 % yield at zero vol: the stock only loses value, exercise now.
    c = greeks("call", 100.0, 90.0, 2.0, 0.0, 0.01, 0.10, style="american")
    t_star = 0.0
    best = max(100.0 * math.exp(-0.10 * t_star) - 90.0 * math.exp(-0.01 * t_star), 0.0)
    assert float(c["price"]) == pytest.approx(best, abs=1e-12)


def test_a_mixed_book_is_priced_by_style_in_one_call():
    style = np.array(["european", "american", "american", "european"])
    g = greeks("put", 60.0, 100.0, 1.0, 0.3, 0.06, 0.0, style=style)
    assert g["price"][1] == g["price"][2] == 40.0
    assert g["price"][0] == g["price"][3] < 40.0
    np.testing.assert_array_equal(greeks("put", 60.0, 100.0, 1.0, 0.3, 0.06,
                                         style=[False, True])["price"], g["price"][:2])


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"spot": -1.0}, "spot"), ({"strike": 0.0}, "strike"), ({"vol": math.nan}, "vol"),
    ({"t": math.inf}, "t"), ({"rate": math.nan}, "rate"), ({"style": "bermudan"}, "style"),
])
def test_bad_american_input_raises_naming_the_argument(kwargs, field):
    args = {"kind": "put", "spot": 100.0, "strike": 100.0, "t": 1.0, "vol": 0.2,
            "rate": 0.05, "style": "american"} | kwargs
    with pytest.raises(ValueError, match=field):
        greeks(**args)


def test_long_dated_high_vol_options_are_finite():
    g = greeks(["call", "put"], 100.0, [50.0, 200.0], 10.0, 1.5, 0.08, 0.06, style="american")
    assert all(np.isfinite(v).all() for v in g.values())
