"""Book files: the same JSON the service loads."""

from __future__ import annotations

import numpy as np
import pytest

from app.backtest import DEFAULT_BOOK, load_book, scenario_from_mapping
from app.errors import InvalidInput


def test_the_default_book_is_the_worked_example() -> None:
    book = load_book(None)
    (u,) = book.underlyings
    assert (u.symbol, u.spot, u.vol) == ("XYZ", 100.0, 0.2)
    assert u.legs.size == 1 and bool(u.legs.is_call[0]) and u.legs.strike[0] == 100.0
    assert u.legs.weight[0] == -10_000.0  # short 100 calls x 100
    assert book.life_s == 28 * 86_400.0  # 20 trading days, close to close


def test_occ_symbols_alone_and_explicit_fields_make_one_book_merged_per_option() -> None:
    book = scenario_from_mapping({
        "start": "2025-01-06T21:00:00Z",
        "underlyings": {"XYZ": {"spot": 100, "rate": 0.01, "div_yield": 0.0, "vol": 0.3,
                                "hedge": {"instrument": "XYZ", "lot_size": 100}},
                        "FUT": {"spot": 5000, "rate": 0.04, "vol": 0.15}},
        "positions": [
            {"symbol": "XYZ   250321P00090000", "quantity": 5},
            {"symbol": "XYZ250321P00090000", "quantity": 5},
            {"symbol": "my-call", "type": "call", "underlying": "XYZ", "strike": 110,
             "expiry": "2025-03-21", "multiplier": 10, "quantity": -3},
            {"symbol": "XYZ", "quantity": 1_000},
            {"symbol": "ESH5", "type": "future", "multiplier": 50, "underlying": "FUT",
             "quantity": 2},
            {"symbol": "ES-C", "type": "call", "underlying": "FUT", "strike": 5000,
             "expiry": "2025-03-21", "multiplier": 50, "quantity": 1},
        ],
    })
    xyz, fut = book.underlyings
    np.testing.assert_array_equal(xyz.legs.weight, [1_000.0, -30.0])
    assert xyz.delta_one == 1_000.0 and xyz.hedge.lot_size == 100
    assert fut.is_future and fut.model == "black76" and fut.delta_one == 100.0
    assert fut.carry == 0.0


@pytest.mark.parametrize(("patch", "field"), [
    ({"start": "yesterday"}, "start"),
    ({"underlyings": {}}, "underlyings"),
    ({"underlyings": {"XYZ": {"spot": -1, "vol": 0.2}}}, "underlyings.XYZ.spot"),
    ({"underlyings": {"XYZ": {"spot": 100, "vol": 12}}}, "underlyings.XYZ.vol"),
    ({"positions": [{"symbol": "ABC   250203C00100000", "quantity": 1}]},
     "positions[0].underlying"),
    ({"positions": [{"symbol": "XYZ   250203C00100000"}]}, "positions[0].quantity"),
    ({"positions": [{"symbol": "XYZ", "quantity": 5}]}, "end"),
])
def test_a_bad_book_is_refused_naming_the_field(patch: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        scenario_from_mapping({**DEFAULT_BOOK, **patch})
    assert err.value.field == field


def test_a_stock_portfolio_runs_to_its_end() -> None:
    book = scenario_from_mapping({**DEFAULT_BOOK, "end": "2025-03-06T21:00:00Z",
                                  "positions": [{"symbol": "XYZ", "quantity": 10_000}]})
    assert book.underlyings[0].delta_one == 10_000 and book.life_s == 59 * 86_400.0
