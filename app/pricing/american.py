"""American options: price and nine figures, generic (one call) and hot paths (cached).

Method (for the README). American options are priced by the integral representation
V = v_European + ∫_0^τ early-exercise premium density ds (Kim 1990), with the exercise
boundary solved by the Andersen–Lake–Offengenden fixed-point iteration (2016) from Li's QD+
start — the family of QuantLib's QdFpAmericanEngine, which converges spectrally where a tree
or a grid needs thousands of steps for 1e-6. The boundary is a Chebyshev series of
ln(B/X)² in √τ (32 nodes for a book's horizon, 24 for one-off pricing), 8 fixed-point steps
(the density form, or the cumulative one where 2r/σ² >= 8 and the density form diverges),
24-point Gauss–Legendre integrals split at τ/2 in square-root variables. A boundary does not
depend on spot, scales with the strike, and as a function of time to expiry serves every
maturity up to its horizon, so a book solves it once per (call/put, vol octave, r, q, model)
and reuses it across ticks (boundary.py): vols inside an octave are interpolated in ln σ,
which also gives the boundary's σ-derivatives. The Greeks are analytic: spot derivatives
under the integral (the boundary does not move with spot), vega/volga/vanna/rho including
the boundary's own σ- and r-sensitivities (rho from boundaries re-solved at r ± 1e-4),
theta and charm from the Black–Scholes PDE in the continuation region — smooth, no tree
noise. The premium integral uses ~22 Gauss–Legendre nodes per option, in ln √s near today
(where gamma's integrand is a spike of fixed area that narrows as spot nears the boundary)
and in √u near expiry. A call uses the put boundary of the swapped rates (McDonald–Schroder
symmetry); Black-76 is the same with the carry equal to the rate, so calls on futures are
exercised early too. Accuracy against QuantLib (high-precision scheme) on 2,000 random
options: see tests/pricing/test_american_quantlib.py.

Edges: t <= 0: intrinsic (delta ±1 in the money, 0 at the money), as European. In the
exercise region: intrinsic value, delta ±1, every other figure 0. When early exercise is
never optimal (put form rate <= 0 and yield >= rate: a call with q <= 0 and r >= q, a put
with r <= 0 and q >= r, Black-76 with r <= 0) the European figures. Negative rates with two
exercise boundaries (a put with q < r < 0, a call with r < q < 0) are priced on the
finite-difference grid (app.pricing.dividends), as are cash dividends. Vol below MIN_VOL:
the σ → 0 limit, exercise at the best deterministic time. Charm comes from the third spot
derivative, whose integrand is sharpest near the boundary: within ~1 % of it (in spot)
charm is good to ~1e-2 relative, elsewhere to ~1e-4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.pricing._american_kernel import american_kernel
from app.pricing._american_nodes_kernel import nodes_kernel, prepare_kernel, splice_rows
from app.pricing.boundary import (
    AmericanBoundaries,
    american_boundaries,
    group_max,
    group_rows,
)
from app.pricing.dividends import figures_with_dividends

__all__ = ["MIN_VOL", "AmericanNodes", "american_figures", "american_greeks_into",
           "american_nodes_greeks_into", "american_nodes_replace", "american_prepare",
           "price_american", "zero_vol_american"]

#: Below this vol the boundary solver is not used: the σ → 0 limit (error < ~0.4 σ√t S).
MIN_VOL = 1e-4
#: More distinct vols than this for one (call/put, r, q): vol-octave panels, not exact ones.
FAMILY_THRESHOLD = 24


def american_greeks_into(is_call: np.ndarray, spot: float | np.ndarray, strike: np.ndarray,
                         t: np.ndarray, vol: np.ndarray, rate: float | np.ndarray,
                         div_yield: float | np.ndarray, black76: bool,
                         state: AmericanBoundaries, panel: np.ndarray, out: np.ndarray) -> int:
    """Hot-path American figures from cached boundaries; no validation, no allocation
    beyond a few kernel scratch arrays. Returns the number of options left NaN because
    the state does not fit them (rebuild with `american_boundaries(..., reuse=state)`).

    Arguments as `greeks_into` (is_call: bool[N]; strike, t, vol: float64[N]; spot, rate,
    div_yield: floats or float64[N]; out: float64[9, N] in GREEK_NAMES order), plus the
    state and panel (int64[N]) returned by `american_boundaries` for these options. rate
    and div_yield must equal those the panels were solved with (checked, NaN otherwise),
    t <= the panel's t_max, vol inside the panel (vol >= MIN_VOL). Options whose panel is in
    the two-boundary regime (negative rates, see module docstring) are left NaN too.
    """
    stale: int = american_kernel(is_call, spot, strike, t, vol, rate, div_yield, black76,
                                 state.panels_f, state.panels_i, state.slot_log_vol,
                                 state.h_coef, state.hb_coef, state.slot_bump, panel, out)
    return stale


@dataclass(frozen=True, slots=True)
class AmericanNodes:
    """Prepared quadrature nodes of N American options (see _american_nodes_kernel.py): the
    boundary evaluated once at each option's nodes, reused by ticks that move spot and the
    clock. Option inputs as prepared (float64/bool[N]); status int64[N]; spot band
    [band_lo, band_hi] and max_elapsed (years) per option; exercise_at the boundary at
    preparation of an option with premium (NaN otherwise): a spot past it, on the exercise
    side, is exercised whatever the time since (the boundary only moves towards spot's
    side as expiry nears), so the option is worth intrinsic there, not stale; option i's
    nodes are the columns starts[i]:ends[i] (int64[N] each) of nodes float64[7, capacity]
    (u, weight, ln B, B, ∂B/∂σ, ∂²B/∂σ², ∂B/∂r), of which the first `used` columns are
    written (the rest is room for rows prepared again, `american_nodes_replace`). ~22 nodes
    per option with an early-exercise premium (about 1.2 kB), none otherwise."""

    is_call: np.ndarray
    strike: np.ndarray
    t: np.ndarray
    vol: np.ndarray
    rate: np.ndarray
    div_yield: np.ndarray
    black76: bool
    status: np.ndarray
    band_lo: np.ndarray
    band_hi: np.ndarray
    exercise_at: np.ndarray
    max_elapsed: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    nodes: np.ndarray
    used: int


def american_prepare(is_call: np.ndarray, spot: float | np.ndarray, strike: np.ndarray,
                     t: np.ndarray, vol: np.ndarray, rate: float | np.ndarray,
                     div_yield: float | np.ndarray, black76: bool, state: AmericanBoundaries,
                     panel: np.ndarray) -> AmericanNodes:
    """Evaluate the cached boundaries at every option's quadrature nodes for the spot band
    around `spot` (arguments as `american_greeks_into`). Costs about one
    `american_greeks_into`; the ticks after it about a third of one."""
    n = strike.shape[0]
    status = np.empty(n, dtype=np.int64)
    band_lo = np.empty(n)
    band_hi = np.empty(n)
    exercise_at = np.empty(n)
    max_elapsed = np.empty(n)
    counts = np.empty(n, dtype=np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    nodes = np.empty((7, 0))
    arrays = (state.panels_f, state.panels_i, state.slot_log_vol, state.h_coef, state.hb_coef,
              state.slot_bump, panel, status, band_lo, band_hi, exercise_at, max_elapsed,
              counts)
    prepare_kernel(is_call, spot, strike, t, vol, rate, div_yield, black76, *arrays, False,
                   offsets, nodes)
    np.cumsum(counts, out=offsets[1:])
    nodes = np.empty((7, int(offsets[-1])))
    prepare_kernel(is_call, spot, strike, t, vol, rate, div_yield, black76, *arrays, True,
                   offsets, nodes)
    r = np.ascontiguousarray(np.broadcast_to(np.asarray(rate, dtype=np.float64), (n,)))
    q = np.ascontiguousarray(np.broadcast_to(np.asarray(div_yield, dtype=np.float64), (n,)))
    return AmericanNodes(is_call, strike, t, vol, r, q, black76, status, band_lo, band_hi,
                         exercise_at, max_elapsed, offsets[:-1], offsets[1:], nodes,
                         int(offsets[-1]))


def american_nodes_greeks_into(nodes: AmericanNodes, spot: float | np.ndarray, elapsed: float,
                               out: np.ndarray) -> int:
    """Nine figures (out float64[9, N]) at spot (float or float64[N]) `elapsed` years after
    `american_prepare` (time to expiry t - elapsed); no boundary evaluation. Returns the
    number of options outside their validity (NaN): price those with
    `american_greeks_into` this tick and prepare again when convenient."""
    stale: int = nodes_kernel(nodes.is_call, spot, nodes.strike, nodes.t, nodes.vol,
                              nodes.rate, nodes.div_yield, nodes.black76, nodes.status,
                              nodes.band_lo, nodes.band_hi, nodes.exercise_at,
                              nodes.max_elapsed, nodes.starts,
                              nodes.ends, nodes.nodes, elapsed, out)
    return stale


def american_nodes_replace(nodes: AmericanNodes, rows: np.ndarray, fresh: AmericanNodes,
                           elapsed: float) -> AmericanNodes:
    """`nodes` with the options `rows` (int64[M]) replaced by `fresh`, the same M options
    prepared `elapsed` years after `nodes` were: the stale rows of a tick prepared again
    without touching the rest. Node positions are absolute (time to expiry of the boundary
    point), so a fresh row keeps its own preparation time by carrying t and max_elapsed
    shifted by `elapsed`; the result is read with the same `elapsed` clock. The fresh nodes
    go into the room after `used` (columns no earlier result reads, so `nodes` stays valid);
    when there is none, the live columns are gathered into a buffer twice their size."""
    fresh_counts = fresh.ends - fresh.starts
    starts, ends = nodes.starts.copy(), nodes.ends.copy()
    buffer, used = nodes.nodes, nodes.used
    extra = int(fresh.used)
    if used + extra > buffer.shape[1]:
        keep = np.ones(starts.shape[0], dtype=bool)
        keep[rows] = False
        counts = np.where(keep, ends - starts, 0)
        live = int(counts.sum())
        offsets = np.zeros(starts.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        gather = np.repeat(starts - offsets[:-1], counts) + np.arange(live)
        buffer = np.empty((7, max(2 * (live + extra), 64)))
        buffer[:, :live] = nodes.nodes[:, gather]
        starts, ends, used = offsets[:-1].copy(), offsets[1:].copy(), live
    buffer[:, used:used + extra] = fresh.nodes[:, :extra]
    starts[rows] = used + fresh.starts
    ends[rows] = used + fresh.starts + fresh_counts

    per_option = splice_rows(
        rows, elapsed, nodes.t, nodes.vol, nodes.rate, nodes.div_yield, nodes.status,
        nodes.band_lo, nodes.band_hi, nodes.exercise_at, nodes.max_elapsed, fresh.t, fresh.vol,
        fresh.rate, fresh.div_yield, fresh.status, fresh.band_lo, fresh.band_hi,
        fresh.exercise_at, fresh.max_elapsed)
    t, vol, rate, div, status, band_lo, band_hi, exercise_at, max_elapsed = per_option
    return AmericanNodes(nodes.is_call, nodes.strike, t, vol, rate, div, nodes.black76, status,
                         band_lo, band_hi, exercise_at, max_elapsed, starts, ends, buffer,
                         used + extra)


def price_american(american: np.ndarray, is_call: np.ndarray, spot: np.ndarray,
                   strike: np.ndarray, t: np.ndarray, vol: np.ndarray, rate: np.ndarray,
                   div_yield: np.ndarray, black76: bool, out: np.ndarray) -> None:
    """Overwrite the columns of out (float64[9, N], European figures) where american[i]."""
    idx = np.flatnonzero(american)
    sub = np.empty((9, idx.size))
    american_figures(is_call[idx], spot[idx], strike[idx], t[idx], vol[idx], rate[idx],
                     div_yield[idx], black76, sub)
    out[:, idx] = sub


def american_figures(is_call: np.ndarray, spot: np.ndarray, strike: np.ndarray,
                     t: np.ndarray, vol: np.ndarray, rate: np.ndarray, div_yield: np.ndarray,
                     black76: bool, out: np.ndarray) -> None:
    """All nine figures of American options with arbitrary per-option inputs (validated
    float64[N] arrays, out float64[9, N]): boundaries per (call/put, r, q) — exact ones at
    each distinct vol (horizon: the longest t at that vol), or, past FAMILY_THRESHOLD
    distinct vols, octave panels interpolated in vol (horizon: the group's longest t); the
    two-boundary cases (negative rates) on the finite-difference grid."""
    q = rate if black76 else div_yield
    live = (t > 0.0) & (vol >= MIN_VOL)
    zero = (t > 0.0) & ~live
    if zero.any():
        out[:, zero] = zero_vol_american(is_call[zero], spot[zero], strike[zero], t[zero],
                                         rate[zero], q[zero], black76)
    idx = np.flatnonzero(~zero)
    if idx.size == 0:
        return
    c, s, k, tt, v = is_call[idx], spot[idx], strike[idx], t[idx], vol[idx]
    r, qq = rate[idx], q[idx]
    vv = np.where(tt > 0.0, v, np.maximum(v, MIN_VOL))  # expired: any panel will do
    sub = np.empty((9, idx.size))
    # Per (call/put, r, q): few distinct vols -> exact panels (5 solves each, horizon the
    # longest t at that vol); many -> vol octaves (24 solves each, any vol inside).
    cf = c.astype(np.float64)
    _, group = group_rows(cf, r, qq)
    firsts, _ = group_rows(cf, r, qq, vv)  # one row per distinct (call/put, r, q, σ)
    distinct = np.bincount(group[firsts], minlength=int(group.max()) + 1)
    family = distinct[group] > FAMILY_THRESHOLD
    for use_family in (False, True):
        sel = np.flatnonzero(family == use_family)
        if sel.size == 0:
            continue
        key = [cf[sel], r[sel], qq[sel]] + ([] if use_family else [vv[sel]])
        _, inverse = group_rows(*key)
        horizon = group_max(inverse, np.maximum(tt[sel], 1e-12))
        state, panel = american_boundaries(c[sel], vv[sel], r[sel], qq[sel], black76,
                                           horizon[inverse], exact=not use_family,
                                           chebyshev_nodes=32 if use_family else 24)
        part = np.empty((9, sel.size))
        american_kernel(c[sel], s[sel], k[sel], tt[sel], vv[sel], r[sel], qq[sel], black76,
                        state.panels_f, state.panels_i, state.slot_log_vol, state.h_coef,
                        state.hb_coef, state.slot_bump, panel, part)
        sub[:, sel] = part
    # Two exercise boundaries (negative rates): the finite-difference grid, no dividends.
    double = np.flatnonzero(np.isnan(sub[0]))
    if double.size:
        none = np.zeros(0)
        grid = np.empty((9, double.size))
        figures_with_dividends(c[double], s[double], k[double], tt[double], vv[double],
                               r[double], qq[double], np.ones(double.size, dtype=np.bool_),
                               none, none, grid)
        sub[:, double] = grid
    out[:, idx] = sub


def zero_vol_american(is_call: np.ndarray, spot: np.ndarray, strike: np.ndarray,
                      t: np.ndarray, rate: np.ndarray, q: np.ndarray,
                      black76: bool) -> np.ndarray:
    """float64[9, N]: the σ → 0 limit of American options (t > 0): the forward path is
    deterministic and the holder exercises at the best time t_o in [0, t]
    (value f(t_o) = φ(S e^{-q t_o} - K e^{-r t_o})); Greeks by the envelope theorem."""
    phi = np.where(is_call, 1.0, -1.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # Interior stationary point of f: r K e^{-rt} = q S e^{-qt}.
        t_star = np.log((rate * strike) / (q * spot)) / (rate - q)
    cand = np.stack([np.zeros_like(t), t, np.where(np.isfinite(t_star), t_star, 0.0)])
    cand = np.clip(cand, 0.0, t)

    def f(tc: np.ndarray) -> np.ndarray:
        value: np.ndarray = phi * (spot * np.exp(-q * tc) - strike * np.exp(-rate * tc))
        return value

    values = np.stack([f(c) for c in cand])
    best = np.argmax(values, axis=0)
    t_o = np.take_along_axis(cand, best[None], axis=0)[0]
    value = np.take_along_axis(values, best[None], axis=0)[0]
    itm = value > 0.0
    out = np.zeros((9, t.shape[0]))
    out[0] = np.where(itm, value, 0.0)
    dq = np.exp(-q * t_o)
    out[1] = np.where(itm, phi * dq, 0.0)
    at_end = itm & (t_o >= t)
    # theta and charm: the value moves with time only when the best time is the expiry.
    f_prime = phi * (-q * spot * np.exp(-q * t) + rate * strike * np.exp(-rate * t))
    out[4] = np.where(at_end, -f_prime, 0.0)
    rho_bsm = phi * t_o * strike * np.exp(-rate * t_o)
    out[5] = np.where(itm, -t_o * value if black76 else rho_bsm, 0.0)
    out[8] = np.where(at_end, phi * q * np.exp(-q * t), 0.0)
    return out
