"""The convertible group: the solve is reused across ticks, re-solved when needs_resolve says
(time, an event, the spot band, the market), a few bonds per tick and the rest off the tick;
the side-effect-free revaluation; the figures in the book's totals."""

from __future__ import annotations

import numpy as np
import pytest

import app.book.convertibles as convertibles
from app.book import Book
from app.book.convertibles import ConvertibleGroup, terms_at
from app.book.market import UnderlyingMarket
from app.domain import HedgeSpec, instrument_from_fields
from app.domain.units import SECONDS_PER_DAY, SECONDS_PER_YEAR
from app.pricing.convertible import (
    EVENT_PASSED,
    MARKET_MOVED,
    SPOT_OUTSIDE_BAND,
    convertible_figures,
)

T0 = 1_780_322_400.0  # 2026-06-01T14:00:00Z
YEAR = SECONDS_PER_YEAR


def bond(i: int, years: float, coupon: float = 0.0, **extra: object):
    return instrument_from_fields(f"CB{i}", {
        "type": "convertible", "underlying": "XYZ", "conversion_ratio": 8.0 + i,
        "maturity": T0 + years * YEAR, "coupon_rate": coupon, "credit_spread": 0.02, **extra})


def a_group(n: int = 4) -> tuple[ConvertibleGroup, UnderlyingMarket]:
    g = ConvertibleGroup()
    for i in range(n):
        g.set_quantity(bond(i, 2.0 + i), 10.0 * (i + 1))
    return g, UnderlyingMarket("XYZ", rate=0.04, div_yield=0.01, vol=0.3, hedge=HedgeSpec("XYZ"))


@pytest.fixture
def solves(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of bonds of every solve the group makes."""
    seen: list[int] = []
    real = convertibles.solve

    def counted(batch, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(len(batch))
        return real(batch, *args, **kwargs)

    monkeypatch.setattr(convertibles, "solve", counted)
    return seen


def fresh(g: ConvertibleGroup, spot: float, as_of: float, m: UnderlyingMarket) -> np.ndarray:
    """Every bond solved afresh at (spot, as_of): the figures a new group would give."""
    other = ConvertibleGroup()
    for sym, spec, qty in zip(g.symbols, g.specs, g.quantity, strict=True):
        other.set_quantity(instrument_from_fields(sym, {
            "type": "convertible", "underlying": "XYZ", "conversion_ratio": spec.conversion_ratio,
            "maturity": spec.maturity, "coupon_rate": spec.coupon_rate,
            "credit_spread": spec.credit_spread}), qty)
    return other.recompute(spot, as_of, m)[1].raw


def test_ticks_within_the_band_reuse_the_solve(solves):
    g, m = a_group()
    g.recompute(100.0, T0, m)
    state = g.state
    assert solves == [4]
    for k in range(50):
        _, rows, _, _ = g.recompute(99.0 + 0.04 * k, T0 + 0.05 * k, m)
    assert solves == [4] and g.state is state and not rows.stale.any()
    # the figures are the interpolation of the solve, close to a fresh solve there
    assert np.allclose(rows.raw[0], fresh(g, 100.96, T0 + 2.45, m)[0], rtol=2e-4)


def test_the_first_valuation_is_the_pricer_on_the_dates_in_years(solves):
    g, m = a_group(1)
    _, rows, _, _ = g.recompute(105.0, T0, m)
    direct = convertible_figures(terms_at(g.specs[0], T0), 105.0, 0.3, 0.04, 0.01)
    assert terms_at(g.specs[0], T0).maturity == pytest.approx(2.0)
    for k, name in enumerate(("price", "delta", "gamma", "vega", "theta", "rho",
                              "credit_spread_sensitivity", "bond_floor")):
        assert rows.raw[k, 0] == pytest.approx(float(direct[name][0]), rel=1e-12), name


def test_time_beyond_the_tolerance_re_solves_one_bond_inline_and_the_rest_by_upkeep(solves):
    g, m = a_group()
    g.recompute(100.0, T0, m)
    later = T0 + 20 * SECONDS_PER_DAY
    _, rows, _, _ = g.recompute(100.0, later, m)
    assert solves == [4, 1]  # one bond re-solved on the tick...
    assert np.count_nonzero(rows.stale) == 3 and set(rows.stale[rows.stale != 0]) == {
        MARKET_MOVED}
    assert g.upkeep(100.0, later, m, max_bonds=2) == 2  # ...the rest off the tick
    assert g.upkeep(100.0, later, m, max_bonds=2) == 1
    assert g.upkeep(100.0, later, m, max_bonds=2) == 0 and solves == [4, 1, 2, 1]
    _, rows, _, _ = g.recompute(100.0, later, m)
    assert not rows.stale.any()
    assert np.allclose(rows.raw[:7], fresh(g, 100.0, later, m)[:7], rtol=1e-12, atol=1e-12)


def test_a_coupon_date_passed_flags_that_bond_first(solves):
    g = ConvertibleGroup()
    coupon = bond(0, 2.0 + 5 * SECONDS_PER_DAY / YEAR, coupon=0.04)  # pays in 5 days
    g.set_quantity(coupon, 10.0)
    g.set_quantity(bond(1, 3.0), 10.0)
    m = UnderlyingMarket("XYZ", rate=0.04, div_yield=0.0, vol=0.3, hedge=HedgeSpec("XYZ"))
    g.inline = 0
    _, before, _, _ = g.recompute(100.0, T0, m)
    _, rows, _, _ = g.recompute(100.0, T0 + 6 * SECONDS_PER_DAY, m)
    assert rows.stale[0] == EVENT_PASSED
    assert g.upkeep(100.0, T0 + 6 * SECONDS_PER_DAY, m, max_bonds=1) == 1
    assert g.stale[0] == 0  # the event first
    _, after, _, _ = g.recompute(100.0, T0 + 6 * SECONDS_PER_DAY, m)
    assert after.raw[10, 0] < before.raw[10, 0]  # accrued reset by the coupon paid
    assert after.raw[0, 0] < before.raw[0, 0] - 15.0  # the coupon (20) left the price


def test_a_spot_outside_the_band_flags_the_bonds(solves):
    g, m = a_group()
    g.inline = 0
    g.recompute(100.0, T0, m)
    _, rows, _, _ = g.recompute(130.0, T0 + 1.0, m)
    assert (rows.stale == SPOT_OUTSIDE_BAND).all() and solves == [4]


@pytest.mark.parametrize("field", ["vol", "rate", "div_yield"])
def test_a_change_of_the_market_re_solves_every_bond_at_once(solves, field):
    g, m = a_group()
    g.recompute(100.0, T0, m)
    setattr(m, field, getattr(m, field) + 0.01)
    _, rows, _, _ = g.recompute(100.0, T0 + 1.0, m)
    assert solves == [4, 4] and not rows.stale.any()
    assert np.allclose(rows.raw[:7], fresh(g, 100.0, T0 + 1.0, m)[:7], rtol=1e-12, atol=1e-12)


class _WithDividends(UnderlyingMarket):
    """A market that carries cash dividends (what the American issue adds)."""


def test_a_change_of_the_cash_dividends_re_solves(solves):
    g, _ = a_group(2)
    m = _WithDividends("XYZ", rate=0.04, div_yield=0.0, vol=0.3, hedge=HedgeSpec("XYZ"))
    m.dividends = [(T0 + 30 * SECONDS_PER_DAY, 1.0)]  # type: ignore[attr-defined]
    _, with_one, _, _ = g.recompute(100.0, T0, m)
    m.dividends = [(T0 + 30 * SECONDS_PER_DAY, 1.0),  # type: ignore[attr-defined]
                   (T0 + 120 * SECONDS_PER_DAY, 1.0)]
    _, with_two, _, _ = g.recompute(100.0, T0, m)
    assert solves == [2, 2]
    assert (with_two.raw[0] < with_one.raw[0]).all()  # more paid away: less to convert into


def test_revalue_without_a_shock_is_the_recompute_and_touches_nothing(solves):
    g, m = a_group()
    _, rows, _, _ = g.recompute(101.0, T0, m)
    state, stale = g.state, g.stale.copy()
    figures, vols = g.revalue(101.0, T0, m)
    assert np.array_equal(figures, rows.raw) and np.array_equal(vols, np.full(4, 0.3))
    assert solves == [4]  # the cached solve served
    up, _ = g.revalue(101.0, T0, m, vol_shift=1e-3)
    spread, _ = g.revalue(101.0, T0, m, spread_shift=1e-4)
    rate, _ = g.revalue(101.0, T0, m, rate_shift=1e-4)
    assert np.allclose(up[0] - figures[0], figures[3] * 1e-3, rtol=2e-2)
    assert np.allclose(spread[0] - figures[0], figures[6] * 1e-4, rtol=2e-2)
    assert np.allclose(rate[0] - figures[0], figures[5] * 1e-4, rtol=2e-2)
    assert g.state is state and np.array_equal(g.stale, stale)
    again, _ = g.revalue(101.0, T0, m)
    assert np.array_equal(again, figures)


def test_revalue_later_solves_afresh_what_time_made_stale():
    g, m = a_group()
    g.recompute(100.0, T0, m)
    later = T0 + 30 * SECONDS_PER_DAY
    figures, _ = g.revalue(100.0, later, m)
    assert np.allclose(figures[:7], fresh(g, 100.0, later, m)[:7], rtol=1e-12, atol=1e-12)


def test_the_book_adds_convertibles_to_the_underlyings_figures_in_desk_units():
    book = Book()
    book.set_underlying(UnderlyingMarket("XYZ", rate=0.04, div_yield=0.01, vol=0.3,
                                         hedge=HedgeSpec("XYZ"), spot=100.0, as_of=T0))
    call = instrument_from_fields("XYZ   270219C00100000", {})
    book.load_positions([(bond(0, 3.0), 50.0), (call, 20.0),
                         (instrument_from_fields("XYZ", {}), -100.0)])
    assert book.linear_symbols == {"XYZ": ["XYZ"]}  # the bond is not a stock position
    risk = book.value("XYZ")
    c, o = risk.convertibles, risk.options
    assert c is not None and o is not None
    assert risk.delta == pytest.approx(c.position[0, 0] + o.position[0, 0] - 100.0)
    assert risk.gamma == pytest.approx(c.position[1, 0] + o.position[1, 0])
    assert risk.vega == pytest.approx(50 * c.raw[3, 0] / 100 + 2000 * o.raw[3, 0] / 100)
    assert risk.theta == pytest.approx(50 * c.raw[4, 0] / 365 + 2000 * o.raw[4, 0] / 365)
    assert risk.rho == pytest.approx(50 * c.raw[5, 0] / 100 + 2000 * o.raw[5, 0] / 100)
    # Whalley–Wilmott's tau weighs each by its |gamma|
    wc, wo = abs(50 * c.raw[2, 0]), abs(2000 * o.raw[2, 0])
    tau_o = (o.expiry[0] - T0) / YEAR
    assert risk.gamma_tau == pytest.approx((wc * 3.0 + wo * tau_o) / (wc + wo))
    assert book.has_positions("XYZ")


def test_a_bond_added_is_solved_alone_and_appended(solves):
    g, m = a_group()
    g.recompute(100.0, T0, m)
    g.set_quantity(bond(9, 4.0, coupon=0.02), 5.0)
    _, rows, _, _ = g.recompute(100.0, T0 + 1.0, m)
    assert solves == [4, 1] and rows.symbols[-1] == "CB9" and rows.quantity[-1] == 5.0
    assert rows.raw[:7, 4] == pytest.approx(fresh(g, 100.0, T0 + 1.0, m)[:7, 4], rel=1e-12)
