"""Predict and explain: the identities that make the attribution add up."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.pnl import EXPLAIN_STEPS, PREDICT_TERMS, MarketPoint, explain, predict
from app.pnl.attribution import unexplained
from app.pricing import greeks

YEAR_S = 365 * 86_400
T0 = 1_780_322_400.0
STRIKES = np.array([80.0, 95.0, 100.0, 105.0, 130.0])
EXPIRY = T0 + np.array([0.1, 0.3, 0.5, 1.0, 2.0]) * YEAR_S
IS_CALL = np.array([True, False, True, False, True])
WEIGHT = np.array([100.0, -300.0, 200.0, 50.0, -100.0])


def book_value(p: MarketPoint) -> np.ndarray:
    t = (EXPIRY - p.t) / YEAR_S
    g = greeks(IS_CALL, p.spot, STRIKES, t, p.vols, p.rate, 0.01)
    return np.asarray(WEIGHT * g["price"])


points = st.builds(
    lambda ds, dv, dt, dr: (ds, dv, dt, dr),
    st.floats(-15, 15), st.floats(-0.05, 0.05), st.floats(0, 5 * 86_400), st.floats(-0.01, 0.01))


@settings(max_examples=60, deadline=None)
@given(points)
def test_the_explain_steps_sum_to_the_revaluation_change(move):
    ds, dv, dt, dr = move
    vols0 = np.array([0.25, 0.22, 0.2, 0.21, 0.3])
    before = MarketPoint(T0, 100.0, vols0, 0.03)
    after = MarketPoint(T0 + dt, 100.0 + ds, vols0 + dv, 0.03 + dr)
    steps = explain(book_value, before, after)
    change = book_value(after) - book_value(before)
    total = sum(steps[s] for s in EXPLAIN_STEPS)
    assert np.allclose(total, change, rtol=1e-9, atol=1e-9 * np.abs(change).max() + 1e-12)


def test_a_step_whose_input_did_not_move_is_zero_without_a_revaluation():
    calls = []

    def counting(p: MarketPoint) -> np.ndarray:
        calls.append(p)
        return book_value(p)

    before = MarketPoint(T0, 100.0, 0.2, 0.03)
    after = MarketPoint(T0 + 60.0, 101.0, 0.2, 0.03)
    steps = explain(counting, before, after)
    assert not steps["vol"].any() and not steps["rate"].any()
    assert len(calls) == 3  # before, after the time step, after the spot step


def test_predict_plus_unexplained_is_the_change_exactly_and_small_for_a_small_move():
    before = MarketPoint(T0, 100.0, 0.2, 0.03)
    after = MarketPoint(T0 + 60.0, 100.3, 0.201, 0.03)
    t = (EXPIRY - T0) / YEAR_S
    g = greeks(IS_CALL, 100.0, STRIKES, t, 0.2, 0.03, 0.01)
    w = WEIGHT
    terms = predict(w * g["delta"], w * g["gamma"], w * g["vega"], w * g["theta"],
                    w * g["rho"], w * g["vanna"], w * g["volga"], 0.3, 0.001, 60.0 / YEAR_S, 0.0)
    change = book_value(after) - book_value(before)
    rest = unexplained(change, terms)
    assert np.array_equal(sum(terms[k] for k in PREDICT_TERMS) + rest, change) or np.allclose(
        sum(terms[k] for k in PREDICT_TERMS) + rest, change, rtol=0, atol=1e-12)
    assert abs(rest.sum()) < 1e-3 * abs(change).sum()


@pytest.mark.parametrize("ds", [1.0, -2.0])
def test_predict_of_a_pure_spot_move_on_a_linear_position_is_all_delta(ds):
    terms = predict(500.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, ds, 0.0, 0.0, 0.0)
    assert terms["delta"] == 500.0 * ds
    assert all(terms[k] == 0 for k in PREDICT_TERMS if k != "delta")
