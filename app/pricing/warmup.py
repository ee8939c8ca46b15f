"""Compile (or load from numba's on-disk cache) every kernel signature the API uses.

Call `warm_up()` once at service start-up so the first tick never pays for compilation:
first run in a fresh checkout compiles (minutes for the American and grid kernels), later
runs load the cache (`__pycache__/*.nbi/*.nbc`, about a second).
"""

from __future__ import annotations

import numpy as np

from app.pricing._iv_kernel import implied_vol_kernel
from app.pricing._kernels import greeks_kernel
from app.pricing.convertible import warm_up_convertible

__all__ = ["warm_up"]


def warm_up() -> None:
    """Run each kernel once per signature: spot/rate/div_yield as floats and as arrays."""
    n = 2
    is_call = np.array([True, False])
    strike = np.full(n, 100.0)
    t = np.full(n, 0.5)
    vol = np.full(n, 0.2)
    out = np.empty((9, n))
    iv = np.empty(n)
    reason = np.empty(n, dtype=np.int8)
    markets = ((100.0, 0.01, 0.0), (np.full(n, 100.0), np.full(n, 0.01), np.zeros(n)))
    for spot, rate, div in markets:
        for black76 in (False, True):
            for validate in (False, True):
                greeks_kernel(is_call, spot, strike, t, vol, rate, div, black76, validate, out)
            implied_vol_kernel(is_call, out[0].copy(), spot, strike, t, rate, div, black76, iv,
                               reason)
    _warm_american(is_call, strike, t, vol)
    warm_up_convertible()


def _warm_american(is_call: np.ndarray, strike: np.ndarray, t: np.ndarray,
                   vol: np.ndarray) -> None:
    """American kernels (boundary solver, figures, implied vol) and the dividend grid."""
    from app.pricing._american_iv_kernel import american_iv_kernel
    from app.pricing._american_kernel import american_kernel
    from app.pricing.american import (
        american_nodes_greeks_into,
        american_nodes_replace,
        american_prepare,
    )
    from app.pricing.boundary import american_boundaries
    from app.pricing.dividends import dividend_grid_greeks_into, dividend_grids

    n = strike.shape[0]
    out = np.empty((9, n))
    iv = np.empty(n)
    reason = np.empty(n, dtype=np.int8)
    for black76 in (False, True):
        state, panel = american_boundaries(is_call, vol, 0.05, 0.02, black76, 1.0, exact=True,
                                           chebyshev_nodes=8)
        arrays = (state.panels_f, state.panels_i, state.slot_log_vol, state.h_coef,
                  state.hb_coef, state.slot_bump)
        # The hot path passes one market as floats, the one-call API per-option arrays.
        for spot, r, q in ((100.0, 0.05, 0.02),
                           (np.full(n, 100.0), np.full(n, 0.05), np.full(n, 0.02))):
            american_kernel(is_call, spot, strike, t, vol, r, q, black76, *arrays, panel, out)
            american_iv_kernel(is_call, np.full(n, 5.0), spot, strike, t, r, q, black76,
                               np.full(n, 0.2), *arrays, iv, reason)
            nodes = american_prepare(is_call, spot, strike, t, vol, r, q, black76, state, panel)
            american_nodes_greeks_into(nodes, spot, 0.0, out)
            american_nodes_replace(nodes, np.array([1]), american_prepare(
                is_call[1:], _second(spot), strike[1:], t[1:], vol[1:], _second(r), _second(q),
                black76, state, panel[1:]), 0.0)
    ones = np.ones(n)
    grid = dividend_grids(is_call, 100.0 * ones, strike, t, vol, 0.05 * ones, 0.0 * ones,
                          np.array([True, False]), np.array([0.25]), np.array([1.0]),
                          time_steps=4, points_per_sd=2.0)
    dividend_grid_greeks_into(grid, 100.0, 0.0, out)


def _second(x: float | np.ndarray) -> float | np.ndarray:
    """A market input of the second option alone (a float is everyone's)."""
    return x if isinstance(x, float) else x[1:]
