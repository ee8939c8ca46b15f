"""The option group off a volatility surface: the smile delta and gamma are the finite
differences of a full revaluation that moves spot and the surface as the stickiness says."""

from __future__ import annotations

import numpy as np
import pytest

from app.book.group import OptionGroup
from app.book.market import UnderlyingMarket
from app.book.vols import SOURCES, SurfaceConfig, SurfaceState
from app.domain import HedgeSpec, instrument_from_fields
from app.surface.sample import sample_surface

T0 = 1_780_322_400.0
SYMBOLS = (("XYZ   270219C00098000", 100.0), ("XYZ   261218P00080000", -50.0),
           ("XYZ   270618C00120000", 30.0), ("XYZ   260717P00095000", 20.0))


def surface_group(stickiness: str) -> tuple[OptionGroup, UnderlyingMarket]:
    g = OptionGroup()
    for sym, qty in SYMBOLS:
        g.quantity[g.row(instrument_from_fields(sym, {}))] = qty
    state = SurfaceState(SurfaceConfig(stickiness=stickiness))
    state.install(sample_surface(100.0, 0.03, 0.01), T0, "fit")
    m = UnderlyingMarket("XYZ", rate=0.03, div_yield=0.01, vol=0.25, hedge=HedgeSpec("XYZ"),
                         surface=state)
    return g, m


@pytest.mark.parametrize("stickiness", ["strike", "moneyness"])
def test_smile_delta_and_gamma_are_the_full_revaluation_differences(stickiness):
    g, m = surface_group(stickiness)
    spot, h = 101.0, 1e-3
    _, rows, _ = g.recompute(spot, T0 + 3600.0, m)
    assert [SOURCES[s] for s in rows.source] == ["surface"] * len(SYMBOLS)
    up, _ = g.revalue(spot + h, T0 + 3600.0, m)
    down, _ = g.revalue(spot - h, T0 + 3600.0, m)
    mid, _ = g.revalue(spot, T0 + 3600.0, m)
    fd_delta = (up[0] - down[0]) / (2 * h)
    fd_gamma = (up[0] - 2 * mid[0] + down[0]) / (h * h)
    smile_delta = rows.raw[1] if rows.smile_delta is None else rows.smile_delta
    smile_gamma = rows.raw[2] if rows.smile_gamma is None else rows.smile_gamma
    assert np.max(np.abs(smile_delta - fd_delta)) < 1e-4  # the bound, per unit
    assert smile_gamma == pytest.approx(fd_gamma, rel=1e-3, abs=1e-4)
    if stickiness == "moneyness":  # the skew matters: the smile delta is not the BS delta
        assert np.max(np.abs(smile_delta - rows.raw[1])) > 1e-3
    else:
        assert rows.smile_delta is None


def test_a_fresh_quote_wins_over_the_surface_and_a_stale_one_yields_to_it():
    g, m = surface_group("moneyness")
    g.iv[0], g.iv_ts[0] = 0.5, T0
    _, rows, _ = g.recompute(100.0, T0 + 30.0, m)
    assert SOURCES[rows.source[0]] == "quote" and rows.iv[0] == 0.5
    _, rows, _ = g.recompute(100.0, T0 + 61.0, m)  # older than quote_max_age_s (60)
    assert SOURCES[rows.source[0]] == "surface" and rows.iv[0] != 0.5
