"""The demo's simulated market: the book it loads, the band it sets, the prices it moves."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from app.demo.market import (
    MIN_BAND_SHARES,
    GbmMarket,
    band_policy,
    make_book,
    make_underlyings,
    monthly_expiries,
    occ_symbol,
)
from app.domain.instrument import parse_occ

TODAY = date(2026, 11, 24)


def test_an_occ_symbol_is_padded_root_date_right_and_strike_in_thousandths():
    assert occ_symbol("XYZ", date(2027, 3, 19), True, 100.0) == "XYZ   270319C00100000"
    assert occ_symbol("ABC", date(2027, 1, 15), False, 62.5) == "ABC   270115P00062500"


def test_monthly_expiries_are_third_fridays_a_week_out_or_more():
    days = monthly_expiries(TODAY)
    assert days[0] == date(2026, 12, 18) and len(days) == 6
    assert all(d.weekday() == 4 and 15 <= d.day <= 21 for d in days)
    assert monthly_expiries(date(2026, 12, 14))[0] == date(2027, 1, 15)


def test_the_book_has_the_options_asked_for_each_a_valid_occ_option_on_a_demo_underlying():
    rng = np.random.default_rng(7)
    specs = make_underlyings(rng, 4)
    book = make_book(rng, specs, 300, TODAY)
    assert len(book) == 300 == len({p["symbol"] for p in book})
    names = {u.symbol for u in specs}
    for p in book:
        inst = parse_occ(p["symbol"])
        assert inst is not None and inst.underlying in names and inst.multiplier == 100
        assert p["quantity"] != 0 and float(p["quantity"]).is_integer()
    assert sum(p["quantity"] < 0 for p in book) > len(book) / 2  # a market maker is short


def test_the_same_seed_gives_the_same_desk():
    def desk(seed: int) -> tuple[object, object]:
        rng = np.random.default_rng(seed)
        specs = make_underlyings(rng, 3)
        return specs, make_book(rng, specs, 50, TODAY)

    assert desk(5) == desk(5)
    assert desk(5) != desk(6)


def test_the_band_is_the_delta_a_move_of_band_pct_makes_and_never_under_a_round_lot():
    policy = band_policy(gamma=-400.0, spot=250.0, band_pct=0.3, stale_after_s=5.0)
    assert policy["mode"] == "band" and policy["band"] == 300  # 400 sh/$ × $0.75
    assert policy["rebalance_to"] == "target" and policy["stale_after_s"] == 5.0
    assert band_policy(None, 250.0, 0.3, 5.0)["band"] == MIN_BAND_SHARES


def test_gbm_moves_log_prices_by_the_vol_over_the_market_time_stepped():
    rng = np.random.default_rng(1)
    specs = make_underlyings(rng, 1)
    market = GbmMarket(rng, specs)
    year = 365 * 86_400.0
    logs = []
    for _ in range(4_000):
        before = market.spots.copy()
        logs.append(float(np.log(market.step(year / 252)[0] / before[0])))
    assert np.std(logs) * np.sqrt(252) == pytest.approx(specs[0].vol, rel=0.05)
    [tick] = market.ticks(1_800_000_000.0)
    assert tick["type"] == "tick" and tick["symbol"] == specs[0].symbol
    assert tick["price"] == market.price_of(specs[0].symbol)
    assert market.price_of("NOPE") is None
