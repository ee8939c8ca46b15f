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


def american_group() -> tuple[OptionGroup, UnderlyingMarket]:
    g = OptionGroup()
    for sym, qty in (("XYZ   270219P00110000", 100.0), ("XYZ   261218C00090000", 50.0),
                     ("XYZ   270618P00080000", -30.0)):
        g.quantity[g.row(instrument_from_fields(sym, {"style": "american"}))] = qty
    m = UnderlyingMarket("XYZ", rate=0.05, div_yield=0.02, vol=0.3, hedge=HedgeSpec("XYZ"))
    return g, m


def test_american_rows_are_priced_with_early_exercise_and_show_their_premium():
    from app.pricing import greeks

    g, m = american_group()
    n = g.n
    for spot in (100.0, 100.5, 99.0):  # boundaries cached, then quadrature nodes reused
        _, rows, _ = g.recompute(spot, T0, m)
        t = (g.expiry[:n] - T0) / (365 * 86_400)
        want = greeks(g.is_call[:n], spot, g.strike[:n], t, 0.3, 0.05, 0.02, style="american")
        euro = greeks(g.is_call[:n], spot, g.strike[:n], t, 0.3, 0.05, 0.02)
        assert np.allclose(rows.raw[0], want["price"], rtol=0, atol=1e-7 * g.strike[:n])
        assert np.allclose(rows.raw[1], want["delta"], rtol=0, atol=1e-6)
        assert rows.early_exercise_premium is not None
        assert np.allclose(rows.early_exercise_premium, want["price"] - euro["price"],
                           atol=1e-7 * g.strike[:n])
        assert (rows.early_exercise_premium >= -1e-9).all()


def test_the_underlyings_option_style_decides_for_rows_without_a_style():
    g = OptionGroup()
    g.quantity[g.row(instrument_from_fields("XYZ   270219P00110000", {}), "american")] = 1.0
    g.quantity[g.row(instrument_from_fields("XYZ   270219P00100000", {"style": "european"}),
                     "american")] = 1.0
    assert g.american[:2].tolist() == [True, False]
    assert g.restyle("european") and g.american[:2].tolist() == [False, False]


def test_cash_dividends_price_european_and_american_rows_on_the_same_grids():
    from app.pricing import greeks

    g, m = american_group()
    ex = T0 + 30 * 86_400.0
    m.dividends = ((ex, 2.0),)
    m.as_of = T0
    _, rows, _ = g.recompute(100.0, T0, m)
    n = g.n
    t = (g.expiry[:n] - T0) / (365 * 86_400)
    want = greeks(g.is_call[:n], 100.0, g.strike[:n], t, 0.3, 0.05, 0.02, style="american",
                  dividends=[(30 / 365, 2.0)])
    assert np.allclose(rows.raw[0], want["price"], rtol=0, atol=2e-4 * g.strike[:n])
    assert rows.early_exercise_premium is not None
    assert (rows.early_exercise_premium >= -1e-6).all()
    _, again, _ = g.recompute(100.4, T0 + 60.0, m)  # the grids are read, not solved again
    assert np.isfinite(again.raw).all()
