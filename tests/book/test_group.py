"""The option group: recompute and the side-effect-free revaluation agree; shocks move the
figures as the Greeks say."""

from __future__ import annotations

import numpy as np
import pytest

from app.book.group import OptionGroup
from app.book.market import UnderlyingMarket
from app.domain import HedgeSpec, instrument_from_fields

T0 = 1_780_322_400.0


def a_group() -> tuple[OptionGroup, UnderlyingMarket]:
    g = OptionGroup()
    for sym, qty in (("XYZ   270219C00098000", 100.0), ("XYZ   261218P00090000", -50.0),
                     ("XYZ   270618C00120000", 30.0)):
        g.quantity[g.row(instrument_from_fields(sym, {}))] = qty
    m = UnderlyingMarket("XYZ", rate=0.03, div_yield=0.01, vol=0.25, hedge=HedgeSpec("XYZ"))
    return g, m


def test_revalue_without_a_shock_is_the_recompute():
    g, m = a_group()
    _, rows, _ = g.recompute(101.0, T0, m)
    figures, vols = g.revalue(101.0, T0, m)
    assert np.array_equal(figures, rows.raw) and np.array_equal(vols, rows.iv)


def test_a_vol_shift_moves_the_price_by_about_the_vega_and_changes_no_state():
    g, m = a_group()
    base, _ = g.revalue(101.0, T0, m)
    moved, vols = g.revalue(101.0, T0, m, vol_shift=0.001)
    assert np.allclose(vols, 0.251)
    assert np.allclose(moved[0] - base[0], base[3] * 0.001, rtol=1e-2)
    again, _ = g.revalue(101.0, T0, m)
    assert np.array_equal(again, base)


def test_a_rate_shift_moves_the_price_by_about_the_rho():
    g, m = a_group()
    base, _ = g.revalue(101.0, T0, m)
    moved, _ = g.revalue(101.0, T0, m, rate_shift=1e-4)
    assert moved[0] - base[0] == pytest.approx(base[5] * 1e-4, rel=1e-2)
