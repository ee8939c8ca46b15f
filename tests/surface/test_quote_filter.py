"""Which quotes a fit may use, and the reasons for the others."""

from __future__ import annotations

import numpy as np
import pytest

from app.pricing import greeks
from app.surface import Quotes, filter_quotes
from app.surface.sample import sample_quotes

T, F = 0.5, 100.0
STRIKES = np.array([80.0, 85.0, 90.0, 95.0, 100.0, 105.0, 110.0, 115.0, 120.0])


def _calls(vol=0.2, spread=0.02):
    price = greeks("call", F, STRIKES, T, vol, 0.0, model="black76")["price"]
    return price - spread / 2, price + spread / 2


def test_clean_quotes_are_all_used_with_their_implied_vols():
    bid, ask = _calls()
    sel = filter_quotes(Quotes.of(STRIKES, T, F, bid=bid, ask=ask))
    assert sel.used.all() and sel.rejected() == []
    np.testing.assert_allclose(sel.iv, 0.2, atol=1e-3)
    np.testing.assert_allclose(sel.k, np.log(STRIKES / F))
    assert sel.weight.max() == 1.0 and sel.weight.min() > 0.0


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("bid_over_ask", None, "crossed_market"),
    ("zero_width", None, "zero_width_market"),
    ("iv", 0.0, "vol_out_of_range"),
    ("iv", 10.5, "vol_out_of_range"),
    ("iv", -0.1, "vol_out_of_range"),
    ("no_market", None, "no_vol"),
    ("below_intrinsic", None, "no_implied_vol"),
])
def test_a_bad_quote_is_rejected_alone_with_its_reason(field, value, reason):
    bid, ask = _calls()
    iv = np.full(STRIKES.size, np.nan)
    i = 4
    if field == "bid_over_ask":
        bid[i], ask[i] = ask[i] + 0.5, bid[i]
    elif field == "zero_width":
        ask[i] = bid[i]
    elif field == "iv":
        iv[i] = value
    elif field == "no_market":
        bid[i] = np.nan
    elif field == "below_intrinsic":
        bid[i - 2], ask[i - 2] = 5.0, 5.1  # 90 call at 5: under its intrinsic value of 10
    sel = filter_quotes(Quotes.of(STRIKES, T, F, iv=iv, bid=bid, ask=ask))
    bad = i - 2 if field == "below_intrinsic" else i
    assert sel.rejected() == [(bad, reason)]
    assert np.isnan(sel.iv[bad]) and sel.weight[bad] == 0.0


def test_an_iv_quote_priced_above_the_forward_is_outside_the_bounds():
    iv = np.full(STRIKES.size, 0.2)
    bid, ask = _calls()
    bid[0], ask[0] = 101.0, 101.5  # a call worth more than the forward
    sel = filter_quotes(Quotes.of(STRIKES, T, F, iv=iv, bid=bid, ask=ask))
    assert sel.rejected() == [(0, "price_outside_bounds")]


def test_a_call_priced_above_a_lower_strike_breaks_monotonicity():
    bid, ask = _calls()
    bid[6], ask[6] = bid[4] + 1.0, ask[4] + 1.0  # the 110 call over the 100 call
    sel = filter_quotes(Quotes.of(STRIKES, T, F, bid=bid, ask=ask))
    assert sel.rejected() == [(6, "not_monotone_in_strike")]


def test_a_put_priced_under_a_lower_strike_breaks_monotonicity():
    p = greeks("put", F, STRIKES, T, 0.2, 0.0, model="black76")["price"]
    bid, ask = p - 0.01, p + 0.01
    bid[3], ask[3] = 0.2, 0.25  # 95 put far under the 90 put
    sel = filter_quotes(Quotes.of(STRIKES, T, F, is_call=False, bid=bid, ask=ask))
    assert sel.rejected() == [(3, "not_monotone_in_strike")]


def test_a_call_over_the_chord_of_its_neighbours_breaks_convexity():
    bid, ask = _calls()
    chord = 0.5 * (ask[3] + ask[5])
    bid[4], ask[4] = chord + 0.3, chord + 0.4  # still between its neighbours: monotone
    assert bid[3] > ask[4] > bid[5]
    sel = filter_quotes(Quotes.of(STRIKES, T, F, bid=bid, ask=ask))
    assert sel.rejected() == [(4, "not_convex_in_strike")]


def test_a_violation_within_the_spread_is_no_violation():
    bid, ask = _calls(spread=0.5)
    mid = 0.5 * (bid + ask)
    mid[4] = 0.5 * (mid[3] + mid[5]) + 0.1  # mids not convex, but the bands allow it
    bid, ask = mid - 0.25, mid + 0.25
    assert filter_quotes(Quotes.of(STRIKES, T, F, bid=bid, ask=ask)).used.all()


def test_an_expiry_with_too_few_usable_quotes_is_rejected_whole():
    iv = np.array([0.2, 0.2, 0.2, 11.0, 11.0, 11.0, 11.0, 0.2, 0.2])
    sel = filter_quotes(Quotes.of(STRIKES, T, F, iv=iv), min_quotes=6)
    assert sel.counts() == {"too_few_quotes": 5, "vol_out_of_range": 4}
    assert not sel.used.any()


def test_call_and_put_may_be_given_as_words():
    q = Quotes.of([90.0, 110.0], T, F, is_call=["put", "call"], iv=0.2)
    assert q.is_call.tolist() == [False, True]


def test_quotes_at_or_past_expiry_are_rejected():
    sel = filter_quotes(Quotes.of(STRIKES, 0.0, F, iv=0.2), min_quotes=1)
    assert set(sel.counts()) == {"expired"}


def test_weights_follow_vega_over_spread():
    bid, ask = _calls()
    ask[2] += 0.2  # a wider market at 90
    sel = filter_quotes(Quotes.of(STRIKES, T, F, bid=bid, ask=ask))
    vega = greeks("call", F, STRIKES, T, sel.iv, 0.0, model="black76")["vega"]
    expected = vega / (ask - bid)
    np.testing.assert_allclose(sel.weight, expected / expected.max(), rtol=1e-9)
    assert sel.weight[2] < sel.weight[3]


def test_the_sample_market_with_noise_keeps_almost_every_quote(surface):
    sel = filter_quotes(sample_quotes(surface, noise=0.002, seed=11))
    assert sel.used.mean() > 0.95


@pytest.mark.parametrize(("field", "kwargs"), [
    ("strike", {"strike": [100.0, -1.0]}),
    ("forward", {"forward": np.nan}),
    ("t", {"t": np.inf}),
    ("discount", {"discount": 0.0}),
    ("weight", {"weight": -1.0}),
    ("t", {"t": [0.5, 0.5, 0.5]}),
    ("is_call", {"is_call": ["call", "Put"]}),
    ("is_call", {"is_call": [1.0, 0.0]}),
])
def test_malformed_quote_arrays_raise_naming_the_field(field, kwargs):
    args = {"strike": [100.0, 110.0], "t": T, "forward": F} | kwargs
    with pytest.raises(ValueError, match=rf"^{field}:"):
        Quotes.of(**args)
