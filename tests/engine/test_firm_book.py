"""The firm's figures from the shards' parts (app.engine.firm_book): what adds up, and why a
scenario's worst loss is the worst summed cell, not the sum of each shard's worst."""

from __future__ import annotations

import pytest

from app.engine.firm_book import SUMMED, BookPart, add_parts, scenario_loss


def test_parts_add_figure_by_figure_and_cell_by_cell():
    a = BookPart((1.0, 2.0, 3.0, 4.0), -10.0, {"grid": [1.0, -5.0, None], "span16": [7.0]})
    b = BookPart((10.0, 20.0, 30.0, 40.0), 4.0, {"grid": [2.0, 3.0, 1.0]})
    total = add_parts([a, b])
    assert total.totals == (11.0, 22.0, 33.0, 44.0) and total.pnl == -6.0
    assert total.scenarios == {"grid": [3.0, -2.0, None], "span16": [7.0]}
    assert add_parts([]) == BookPart()


def test_a_part_survives_its_record():
    part = BookPart(tuple(float(k) for k in range(len(SUMMED))), 12.5,
                    {"pm": [1.0, None, -2.0]})
    assert BookPart.from_record(part.record()) == part
    assert set(part.record()["totals"]) == set(SUMMED)


def test_the_firms_worst_cell_is_not_the_sum_of_each_books_worst():
    own = [-100.0, 50.0, 0.0]  # loses 100 in cell 0
    rest = [80.0, -60.0, 0.0]  # loses 60 in cell 1
    assert scenario_loss("grid", own, rest) == pytest.approx(20.0)  # worst of the sums
    assert scenario_loss("grid", own, None) == pytest.approx(100.0)
    assert scenario_loss("grid", [10.0, 20.0], [1.0, 2.0]) == 0.0  # every cell makes money
    assert scenario_loss("grid", None, None) is None
    assert scenario_loss("grid", [None, -3.0], [-50.0, 1.0]) == pytest.approx(2.0)


def test_span_risk_is_a_sum_per_underlying_so_the_parts_add():
    assert scenario_loss("span16", [120.0], [30.0]) == pytest.approx(150.0)
    assert scenario_loss("span16", None, [30.0]) == pytest.approx(30.0)
