# mypy: ignore-errors
# (numba kernels: types are inferred by numba at compile time, not annotated)
"""Spot-only revaluation of solved convertibles, and the staleness test of a solve.

Interpolation in each bond's cell [S_j, S_{j+1}] holding the new spot (found in O(1) from
the closed-form inverse of the sinh grid): price by the cubic Hermite polynomial through the
node prices and deltas, delta by the Hermite polynomial through the node deltas and gammas,
gamma, theta, vega, rho and the spread sensitivity linearly. Beyond S_max the value is
continued linearly (the grid's own boundary condition).
"""

from __future__ import annotations

import math

from numba import njit

from app.pricing._convertible_grid import (
    ROW_DELTA,
    ROW_GAMMA,
    ROW_PRICE,
    ROW_RHO,
    ROW_SPREAD,
    ROW_THETA,
    ROW_VEGA,
    TIE,
    TIME_EPS,
    _locate,
)
from app.pricing._kernels import _at

_JIT = {"cache": True, "error_model": "numpy", "nogil": True}

# Rows of the revaluation output (FIGURE_NAMES order in convertible.py).
(OUT_PRICE, OUT_DELTA, OUT_GAMMA, OUT_VEGA, OUT_THETA, OUT_RHO, OUT_SPREAD, OUT_FLOOR,
 OUT_CONVERSION_VALUE, OUT_PREMIUM, OUT_ACCRUED) = range(11)
OUT_ROWS = 11

# Staleness codes (RESOLVE_REASONS in convertible.py).
FRESH, EVENT_PASSED, SPOT_OUTSIDE_BAND, MARKET_MOVED = range(4)


@njit(**_JIT)
def _interp(s, nodes, grid_map, table, ratio, barrier, res):
    """res[0:7] = price, delta, gamma, theta, vega, rho, spread sensitivity at spot s.

    barrier > 0: at and above it a call forces conversion (V = ratio S, no other figures);
    in the cell holding it, the quadratic through the two nodes below and (barrier,
    ratio × barrier) for price, delta, gamma, and the others linearly down to 0 at it."""
    n = nodes.shape[0] - 1
    if barrier > 0.0 and s >= barrier * TIE:
        res[0] = ratio * s
        res[1] = ratio
        for k in range(2, 7):
            res[k] = 0.0
        return
    if s >= nodes[n]:
        dx = s - nodes[n]
        res[0] = table[ROW_PRICE, n] + table[ROW_DELTA, n] * dx
        res[1] = table[ROW_DELTA, n]
        res[2] = 0.0
        res[3] = table[ROW_THETA, n]
        res[4] = table[ROW_VEGA, n]
        res[5] = table[ROW_RHO, n]
        res[6] = table[ROW_SPREAD, n]
        return
    _interp_in(s, _locate(s, nodes, grid_map), nodes, table, ratio, barrier, res)


@njit(**_JIT)
def _interp_in(s, j, nodes, table, ratio, barrier, res):
    """_interp in the known cell j (nodes[j] <= s < nodes[j + 1], s below the barrier)."""
    if barrier > 0.0 and j >= 1 and nodes[j] < barrier < nodes[j + 1]:
        _near_barrier(s, nodes, table, ratio, barrier, j, res)
        return
    h = nodes[j + 1] - nodes[j]
    t = (s - nodes[j]) / h
    t2 = t * t
    t3 = t2 * t
    h00 = 2.0 * t3 - 3.0 * t2 + 1.0
    h10 = (t3 - 2.0 * t2 + t) * h
    h01 = 3.0 * t2 - 2.0 * t3
    h11 = (t3 - t2) * h
    v0, v1 = table[ROW_PRICE, j], table[ROW_PRICE, j + 1]
    d0, d1 = table[ROW_DELTA, j], table[ROW_DELTA, j + 1]
    g0, g1 = table[ROW_GAMMA, j], table[ROW_GAMMA, j + 1]
    res[0] = h00 * v0 + h10 * d0 + h01 * v1 + h11 * d1
    res[1] = h00 * d0 + h10 * g0 + h01 * d1 + h11 * g1
    w = 1.0 - t
    res[2] = w * g0 + t * g1
    res[3] = w * table[ROW_THETA, j] + t * table[ROW_THETA, j + 1]
    res[4] = w * table[ROW_VEGA, j] + t * table[ROW_VEGA, j + 1]
    res[5] = w * table[ROW_RHO, j] + t * table[ROW_RHO, j + 1]
    res[6] = w * table[ROW_SPREAD, j] + t * table[ROW_SPREAD, j + 1]


@njit(**_JIT)
def _near_barrier(s, nodes, table, ratio, barrier, j, res):
    x0, x1, x2 = nodes[j - 1], nodes[j], barrier
    v0, v1, v2 = table[ROW_PRICE, j - 1], table[ROW_PRICE, j], ratio * barrier
    d0 = (x0 - x1) * (x0 - x2)
    d1 = (x1 - x0) * (x1 - x2)
    d2 = (x2 - x0) * (x2 - x1)
    res[0] = (v0 * (s - x1) * (s - x2) / d0 + v1 * (s - x0) * (s - x2) / d1
              + v2 * (s - x0) * (s - x1) / d2)
    res[1] = (v0 * (2.0 * s - x1 - x2) / d0 + v1 * (2.0 * s - x0 - x2) / d1
              + v2 * (2.0 * s - x0 - x1) / d2)
    res[2] = 2.0 * (v0 / d0 + v1 / d1 + v2 / d2)
    w = 1.0 - (s - x1) / (x2 - x1)
    res[3] = w * table[ROW_THETA, j]
    res[4] = w * table[ROW_VEGA, j]
    res[5] = w * table[ROW_RHO, j]
    res[6] = w * table[ROW_SPREAD, j]


@njit(**_JIT)
def revalue_kernel(spot, nodes, maps, table, floor, accrued, ratio, barrier, res, out):
    """out[11, n] at the new spot (a float, or float64[n]); res: float64[7] scratch."""
    for b in range(nodes.shape[0]):
        s = _at(spot, b)
        _interp(s, nodes[b], maps[b], table[b], ratio[b], barrier[b], res)
        out[OUT_PRICE, b] = res[0]
        out[OUT_DELTA, b] = res[1]
        out[OUT_GAMMA, b] = res[2]
        out[OUT_THETA, b] = res[3]
        out[OUT_VEGA, b] = res[4]
        out[OUT_RHO, b] = res[5]
        out[OUT_SPREAD, b] = res[6]
        out[OUT_FLOOR, b] = floor[b]
        conv = ratio[b] * s
        out[OUT_CONVERSION_VALUE, b] = conv
        out[OUT_PREMIUM, b] = (res[0] - conv) / conv if conv > 0.0 else math.inf
        out[OUT_ACCRUED, b] = accrued[b]


@njit(**_JIT)
def points_kernel(bond, spot, nodes, maps, table, floor, accrued, ratio, barrier, res, out):
    """out[11, P]: the figures of bond[p] at spot[p] for every point p (many spots on the
    same solves: a backtest's paths)."""
    for p in range(spot.shape[0]):
        b = bond[p]
        s = spot[p]
        _interp(s, nodes[b], maps[b], table[b], ratio[b], barrier[b], res)
        out[OUT_PRICE, p] = res[0]
        out[OUT_DELTA, p] = res[1]
        out[OUT_GAMMA, p] = res[2]
        out[OUT_THETA, p] = res[3]
        out[OUT_VEGA, p] = res[4]
        out[OUT_RHO, p] = res[5]
        out[OUT_SPREAD, p] = res[6]
        out[OUT_FLOOR, p] = floor[b]
        conv = ratio[b] * s
        out[OUT_CONVERSION_VALUE, p] = conv
        out[OUT_PREMIUM, p] = (res[0] - conv) / conv if conv > 0.0 else math.inf
        out[OUT_ACCRUED, p] = accrued[b]


@njit(**_JIT)
def staleness_kernel(spot, vol, rate, q, spread, t_elapsed, nodes, maps, table, ratio,
                     barrier, s_vol, s_rate, s_q, s_spread, band_lo, band_hi, next_event,
                     price_tol, delta_tol, res, codes):
    """codes[n] (int8): FRESH, or why the solve no longer stands (see convertible.py).

    vol, rate, q, spread, t_elapsed: floats or float64[n]; price_tol, delta_tol: float64[n]
    (absolute: $ per bond, shares per bond).
    """
    for b in range(nodes.shape[0]):
        s = _at(spot, b)
        te = abs(_at(t_elapsed, b))
        if te >= next_event[b] - TIME_EPS:
            codes[b] = EVENT_PASSED
            continue
        if not (band_lo[b] <= s <= band_hi[b]):
            codes[b] = SPOT_OUTSIDE_BAND
            continue
        d_vol = _at(vol, b) - s_vol[b]
        d_rate = _at(rate, b) - s_rate[b]
        d_spread = _at(spread, b) - s_spread[b]
        if _at(q, b) != s_q[b]:
            codes[b] = MARKET_MOVED
            continue
        nb = nodes[b]
        tb = table[b]
        n = nb.shape[0] - 1
        j = _locate(min(s, nb[n]), nb, maps[b])
        if barrier[b] > 0.0 and s >= barrier[b] * TIE:
            codes[b] = FRESH  # forced conversion: V = ratio S whatever the market
            continue
        _interp_in(s, j, nb, tb, ratio[b], barrier[b], res)
        moved = (abs(res[4] * d_vol) + abs(res[5] * d_rate) + abs(res[6] * d_spread)
                 + abs(res[3] * te))
        h = nb[j + 1] - nb[j]
        # d/dS of the figures (vanna, the rate's and spread's, charm): cell slopes.
        turned = (abs((tb[ROW_VEGA, j + 1] - tb[ROW_VEGA, j]) * d_vol)
                  + abs((tb[ROW_RHO, j + 1] - tb[ROW_RHO, j]) * d_rate)
                  + abs((tb[ROW_SPREAD, j + 1] - tb[ROW_SPREAD, j]) * d_spread)
                  + abs((tb[ROW_THETA, j + 1] - tb[ROW_THETA, j]) * te)) / h
        # Written so that NaN figures (a failed solve) ask for a re-solve too.
        if moved <= price_tol[b] and turned <= delta_tol[b]:
            codes[b] = FRESH
        else:
            codes[b] = MARKET_MOVED
