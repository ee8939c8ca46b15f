"""Average-cost P&L: marks, adds, reductions, crossings, fees."""

from __future__ import annotations

import pytest

from app.pnl import Holding, Ledger


def test_a_start_of_day_position_makes_value_minus_mark():
    ledger = Ledger()
    ledger.start_day([Holding("XYZ", "XYZ", "stock", 1.0, quantity=100.0, mark=50.0)])
    h = ledger.holdings[("XYZ", "XYZ")]
    assert h.pnl(52.0) == 200.0 and h.realized == 0.0 and h.unrealized(52.0) == 200.0


def test_a_round_trip_at_the_same_price_makes_nothing_but_the_fees():
    ledger = Ledger()
    ledger.trade("XYZ", "C1", "option", 100.0, 5.0, 2.40, fee=1.0)
    ledger.trade("XYZ", "C1", "option", 100.0, -5.0, 2.40, fee=1.0)
    h = ledger.holdings[("XYZ", "C1")]
    assert h.quantity == 0 and h.pnl(3.0) == pytest.approx(-2.0)


def test_adding_averages_the_cost_and_reducing_realizes_against_it():
    h = Holding("XYZ", "XYZ", "stock", 1.0)
    h.trade(100.0, 10.0)
    h.trade(100.0, 12.0)
    assert h.cost == 11.0 and h.quantity == 200.0
    assert h.trade(-50.0, 15.0) == pytest.approx(200.0)  # (15 − 11) × 50
    assert h.realized == pytest.approx(200.0) and h.quantity == 150.0 and h.cost == 11.0
    assert h.pnl(11.0) == pytest.approx(200.0)


def test_a_trade_through_zero_closes_everything_and_opens_the_rest_at_its_price():
    h = Holding("XYZ", "XYZ", "hedge", 1.0, quantity=-100.0, cost=20.0)
    realized = h.trade(150.0, 18.0)
    assert realized == pytest.approx(200.0)  # short 100 at 20, bought back at 18
    assert h.quantity == 50.0 and h.cost == 18.0
    assert h.pnl(19.0) == pytest.approx(200.0 + 50.0)


def test_pnl_is_value_minus_mark_overnight_and_value_minus_fill_for_todays_trades():
    ledger = Ledger()
    ledger.start_day([Holding("C1", "XYZ", "option", 100.0, quantity=10.0, mark=3.0)])
    ledger.trade("XYZ", "C1", "option", 100.0, 5.0, 3.5)
    h = ledger.holdings[("XYZ", "C1")]
    value = 4.0
    assert h.pnl(value) == pytest.approx((4.0 - 3.0) * 10 * 100 + (4.0 - 3.5) * 5 * 100)
