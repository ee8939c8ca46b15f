"""The book's hot path: cached boundaries, figures consistent with their own differences, the
same numbers as the one-call API, stale states give NaN, never silent mispricing."""

from __future__ import annotations

import numpy as np
import pytest

from app.pricing import (
    american_boundaries,
    american_greeks_into,
    american_nodes_greeks_into,
    american_nodes_replace,
    american_prepare,
    greeks,
)

RATE, DIV = 0.05, 0.03


def _book(n=300, seed=5):
    rng = np.random.default_rng(seed)
    return {"is_call": rng.random(n) < 0.5, "strike": rng.uniform(60.0, 140.0, n),
            "t": rng.uniform(10 / 365, 2.0, n), "vol": rng.uniform(0.12, 0.7, n)}


def _figures(b, state, panel, spot=100.0, **bump):
    args = {"t": b["t"], "vol": b["vol"]} | bump
    if "vol" in bump:  # a bumped vol may sit in the next octave: its panel (kept in `state`)
        state, panel = american_boundaries(b["is_call"], args["vol"], RATE, DIV, False, 2.5,
                                           reuse=state)
    out = np.empty((9, b["strike"].size))
    stale = american_greeks_into(b["is_call"], spot, b["strike"], args["t"], args["vol"], RATE,
                                 DIV, False, state, panel, out)
    assert stale == 0
    return out


@pytest.fixture(scope="module")
def book_state():
    b = _book()
    state, panel = american_boundaries(b["is_call"], b["vol"], RATE, DIV, False, 2.5)
    return b, state, panel


def test_hot_path_matches_the_one_call_api(book_state):
    b, state, panel = book_state
    hot = _figures(b, state, panel)
    g = greeks(b["is_call"], 100.0, b["strike"], b["t"], b["vol"], RATE, DIV, style="american")
    np.testing.assert_allclose(hot[0], g["price"], atol=2e-7 * 100)
    np.testing.assert_allclose(hot[1], g["delta"], atol=2e-6)
    np.testing.assert_allclose(hot[3], g["vega"], rtol=1e-4, atol=1e-6 * 100)
    np.testing.assert_allclose(hot[5], g["rho"], rtol=1e-3, atol=1e-6 * 100)


def test_every_figure_matches_differences_of_its_own_price(book_state):
    b, state, panel = book_state
    base = _figures(b, state, panel)
    live = base[2] > 0.0  # continuation region (the exercise region has no derivatives)
    hv = 1e-4
    # Vol differences across an octave edge mix two interpolation panels: leave those out.
    inside = np.floor(np.log2(b["vol"] - hv)) == np.floor(np.log2(b["vol"] + hv))
    hs = 1e-3
    up, dn = _figures(b, state, panel, spot=100.0 + hs), _figures(b, state, panel, 100.0 - hs)
    checks = {1: (up[0] - dn[0]) / (2 * hs), 2: (up[1] - dn[1]) / (2 * hs),
              6: (up[3] - dn[3]) / (2 * hs)}
    vu = _figures(b, state, panel, vol=b["vol"] + hv)
    vd = _figures(b, state, panel, vol=b["vol"] - hv)
    checks |= {3: (vu[0] - vd[0]) / (2 * hv), 7: (vu[3] - vd[3]) / (2 * hv)}
    # Calendar time passing: t shrinks. The boundary is a function of time to expiry only,
    # so the same state prices t ± h exactly as the engine would.
    ht = 1e-5
    tu = _figures(b, state, panel, t=b["t"] - ht)
    td = _figures(b, state, panel, t=b["t"] + ht)
    checks |= {4: (tu[0] - td[0]) / (2 * ht), 8: (tu[1] - td[1]) / (2 * ht)}
    for row, fd in checks.items():
        tol = 2e-4 * np.abs(fd) + 2e-6 * (1.0 + np.abs(base[0]))
        bad = live & (inside if row in (3, 7) else True) & (np.abs(base[row] - fd) > tol)
        assert not bad.any(), (row, base[row][bad][:4], fd[bad][:4])


def test_theta_satisfies_the_black_scholes_pde_in_the_continuation_region(book_state):
    b, state, panel = book_state
    f = _figures(b, state, panel)
    live = f[2] > 0.0
    s, v = 100.0, b["vol"]
    pde = RATE * f[0] - (RATE - DIV) * s * f[1] - 0.5 * v * v * s * s * f[2]
    np.testing.assert_allclose(f[4][live], pde[live], rtol=1e-10, atol=1e-10)


def test_a_stale_state_gives_nan_not_a_wrong_price(book_state):
    b, state, panel = book_state
    out = np.empty((9, b["strike"].size))
    n = b["strike"].size
    assert american_greeks_into(b["is_call"], 100.0, b["strike"], b["t"], b["vol"], RATE + 0.01,
                                DIV, False, state, panel, out) == n
    assert np.isnan(out).all()
    far = b["vol"] * 3.0  # outside every option's vol octave
    assert american_greeks_into(b["is_call"], 100.0, b["strike"], b["t"], far, RATE, DIV,
                                False, state, panel, out) == n
    longer = b["t"] + 1.0  # beyond the horizon of 2.5 years for some
    stale = american_greeks_into(b["is_call"], 100.0, b["strike"], longer, b["vol"], RATE, DIV,
                                 False, state, panel, out)
    assert stale == np.count_nonzero(longer > 2.5)


def test_reuse_keeps_panels_and_adds_only_the_missing_ones(book_state):
    b, state, panel = book_state
    again, panel2 = american_boundaries(b["is_call"], b["vol"], RATE, DIV, False, 2.5,
                                        reuse=state)
    assert again is state and (panel2 == panel).all()
    grown, panel3 = american_boundaries(b["is_call"], b["vol"] * 3.0, RATE, DIV, False, 2.5,
                                        reuse=state)
    assert len(grown) > len(state)
    np.testing.assert_array_equal(grown.h_coef[: state.h_coef.shape[0]], state.h_coef)
    out = np.empty((9, b["strike"].size))
    assert american_greeks_into(b["is_call"], 100.0, b["strike"], b["t"], b["vol"] * 3.0, RATE,
                                DIV, False, grown, panel3, out) == 0


def test_prepared_nodes_give_the_cached_boundary_figures_after_spot_and_clock_moves(
        book_state):
    b, state, panel = book_state
    nodes = american_prepare(b["is_call"], 100.0, b["strike"], b["t"], b["vol"], RATE, DIV,
                             False, state, panel)
    for spot, elapsed in ((100.0, 0.0), (101.5, 2e-7), (98.0, 1e-6)):
        out = np.empty((9, b["strike"].size))
        stale = american_nodes_greeks_into(nodes, spot, elapsed, out)
        fresh = _figures(b, state, panel, spot=spot, t=b["t"] - elapsed)
        ok = ~np.isnan(out[0])
        assert stale == np.count_nonzero(~ok) and ok.mean() > 0.9
        np.testing.assert_allclose(out[0][ok], fresh[0][ok], atol=1e-6 * 100)
        np.testing.assert_allclose(out[1][ok], fresh[1][ok], atol=1e-5)
        for row in (2, 3, 4, 5, 6, 7):
            np.testing.assert_allclose(out[row][ok], fresh[row][ok], rtol=1e-3,
                                       atol=1e-6 * (1.0 + np.abs(fresh[row][ok]).max()))


def test_prepared_nodes_go_stale_outside_their_spot_band_or_age(book_state):
    b, state, panel = book_state
    nodes = american_prepare(b["is_call"], 100.0, b["strike"], b["t"], b["vol"], RATE, DIV,
                             False, state, panel)
    out = np.empty((9, b["strike"].size))
    premium = nodes.status == 3
    assert premium.any()
    american_nodes_greeks_into(nodes, 100.0, 2.0 * nodes.max_elapsed[premium].max(), out)
    assert np.isnan(out[0][premium]).all()
    assert not np.isnan(out[0][~premium]).any()  # no premium nodes: valid whatever the age
    # Just outside each option's band (where it has an edge): stale, NaN.
    below = np.isfinite(nodes.band_lo) & (nodes.band_lo > 0.0)
    above = np.isfinite(nodes.band_hi) & ~below
    edge = below | above
    assert edge.sum() > 50
    spot = np.where(below, 0.99 * nodes.band_lo, np.where(above, 1.01 * nodes.band_hi, 100.0))
    # an option with premium whose spot went past the boundary it had at preparation is
    # exercised (the boundary only moves towards spot's side as expiry nears): intrinsic
    past = (nodes.status == 3) & np.where(b["is_call"], spot >= nodes.exercise_at,
                                          spot <= nodes.exercise_at)
    stale = american_nodes_greeks_into(nodes, spot, 0.0, out)
    assert stale == (edge & ~past).sum() and np.isnan(out[0][edge & ~past]).all()
    intrinsic = np.where(b["is_call"], spot - b["strike"], b["strike"] - spot)
    np.testing.assert_array_equal(out[0][past], intrinsic[past])
    np.testing.assert_array_equal(out[1][past], np.where(b["is_call"], 1.0, -1.0)[past])
    assert (out[2:][:, past] == 0.0).all()


def test_spot_past_the_prepared_boundary_is_exercised_at_any_age(book_state):
    """The nodes' exercise test against the full evaluation: spot moved past each premium
    option's boundary (as prepared), later: the full evaluation says exercised too."""
    b, state, panel = book_state
    nodes = american_prepare(b["is_call"], 100.0, b["strike"], b["t"], b["vol"], RATE, DIV,
                             False, state, panel)
    premium = np.flatnonzero(nodes.status == 3)
    assert premium.size > 50
    spot = np.where(b["is_call"], 1.001 * nodes.exercise_at, 0.999 * nodes.exercise_at)[premium]
    elapsed = 10.0 * nodes.max_elapsed[premium].max()  # far past the nodes' own age limit
    out = np.empty((9, b["strike"].size))
    spots = np.full(b["strike"].size, 100.0)
    spots[premium] = spot
    american_nodes_greeks_into(nodes, spots, elapsed, out)
    full = _figures(b, state, panel, spot=spots, t=b["t"] - elapsed)
    np.testing.assert_allclose(out[0][premium], full[0][premium], atol=1e-9 * 100)
    np.testing.assert_allclose(out[1][premium], full[1][premium], atol=1e-12)


def test_the_stale_rows_prepared_again_alone_price_as_a_full_preparation_would(book_state):
    """A tick moves spot near some options' boundaries: those rows (only) are prepared again
    at the tick's spot and clock and spliced in; later ticks read every row right, on the
    first preparation's clock, through more splices than the buffer first had room for."""
    b, state, panel = book_state
    args = (b["is_call"], b["strike"], b["t"], b["vol"])
    nodes = american_prepare(args[0], 100.0, *args[1:], RATE, DIV, False, state, panel)
    out = np.empty((9, b["strike"].size))
    elapsed = 0.0
    for spot in (90.0, 112.0, 84.0, 120.0, 95.0):
        elapsed += 1e-7
        stale = american_nodes_greeks_into(nodes, spot, elapsed, out)
        rows = np.flatnonzero(np.isnan(out[0]))
        assert stale == rows.size and rows.size > 0
        fresh = american_prepare(b["is_call"][rows], spot, b["strike"][rows],
                                 b["t"][rows] - elapsed, b["vol"][rows], RATE, DIV, False,
                                 state, panel[rows])
        before = nodes.nodes.copy()[:, :nodes.used]
        replaced = american_nodes_replace(nodes, rows, fresh, elapsed)
        if replaced.nodes is nodes.nodes:  # spliced into the room: the old columns untouched
            np.testing.assert_array_equal(nodes.nodes[:, :nodes.used], before)
        nodes = replaced
        assert american_nodes_greeks_into(nodes, spot, elapsed, out) == 0
        full = _figures(b, state, panel, spot=spot, t=b["t"] - elapsed)
        np.testing.assert_allclose(out[0], full[0], atol=1e-6 * 100)
        np.testing.assert_allclose(out[1], full[1], atol=1e-5)
        np.testing.assert_allclose(out[2], full[2], rtol=1e-3, atol=1e-7)
