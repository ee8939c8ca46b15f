"""Implied vol of American options from a price, generic and hot path.

`american_implied_vol_into(...)` solves against a state of cached boundary panels (the book
builds octave panels covering the vols it expects, e.g. `american_vol_range(...)`); each
Newton step interpolates the boundary to the trial vol and costs one premium quadrature.
`american_implied_vols(...)` is the generic path behind `implied_vol(..., style=...)`: it
adds the octave panels the iteration asks for, group by group, until every quote is solved.

Accuracy: the root of our own American price to within 1e-8 σ (Newton steps until one is
below STEP_TOL = 1e-8 σ; that last step squares the error, so ~1e-12 in practice) where the
price moves with vol; the price itself matches QuantLib's QdFpAmericanEngine to ~1e-7 ×
strike, so the vol matches a QuantLib-implied vol to that price error / vega. A price below
the σ → 0 American value (intrinsic, or more when waiting is worth it at zero vol) gives NaN
and BELOW_INTRINSIC; at it (within rounding) vol 0.0 — for an American option every vol up
to the one where spot leaves the exercise region fits such a price; at or above spot (call)
or strike (put): ABOVE_UPPER_BOUND; above the price at vol 10 (1000 %): ABOVE_UPPER_BOUND.
"""

from __future__ import annotations

import numpy as np

from app.pricing._american_iv_kernel import R_NEEDS_PANEL, american_iv_kernel
from app.pricing._iv_kernel import implied_vol_kernel
from app.pricing.boundary import (
    AmericanBoundaries,
    american_boundaries,
    family_octave,
    group_max,
    group_rows,
)

__all__ = ["R_NEEDS_PANEL", "american_implied_vol_into", "american_implied_vols",
           "american_vol_range"]

#: Rounds of "add the octaves asked for, solve again" before giving up (NO_CONVERGENCE).
MAX_ROUNDS = 12


def american_implied_vol_into(is_call: np.ndarray, price: np.ndarray,
                              spot: float | np.ndarray, strike: np.ndarray, t: np.ndarray,
                              rate: float | np.ndarray, div_yield: float | np.ndarray,
                              black76: bool, state: AmericanBoundaries, out: np.ndarray,
                              reason: np.ndarray, start: np.ndarray | None = None) -> int:
    """Hot-path American implied vol: fills out (float64[N]) and reason (int8[N], REASONS
    codes); argument forms as `implied_vol_into`. start: float64[N] first guesses (e.g. the
    previous vols; NaN: 0.3); None: the European implied vols of the prices (an upper bound
    of the American ones, ~10x cheaper to find). Returns how many quotes need a vol octave the state
    lacks (their reason is R_NEEDS_PANEL = 5 and out holds the vol asked for): extend the
    state with `american_boundaries(..., vol=out[those], reuse=state)` and solve them again."""
    first = start
    if first is None:
        first = np.empty(price.shape[0])
        implied_vol_kernel(is_call, price, spot, strike, t, rate, div_yield, black76, first,
                           reason)
    american_iv_kernel(is_call, price, spot, strike, t, rate, div_yield, black76, first,
                       state.panels_f, state.panels_i, state.slot_log_vol, state.h_coef,
                       state.hb_coef, state.slot_bump, out, reason)
    return int(np.count_nonzero(reason == R_NEEDS_PANEL))


def american_vol_range(rate: float, div_yield: float, black76: bool, t_max: float,
                       vol_lo: float, vol_hi: float, reuse: AmericanBoundaries | None = None,
                       with_rho: bool = True) -> AmericanBoundaries:
    """A state with the octave panels of calls and puts covering [vol_lo, vol_hi]."""
    ks = np.arange(family_octave(np.array([vol_lo]))[0], family_octave(np.array([vol_hi]))[0] + 1)
    vols = np.repeat(1.5 * 2.0 ** ks.astype(float), 2)
    calls = np.tile([True, False], ks.size)
    state, _ = american_boundaries(calls, vols, rate, div_yield, black76, t_max, reuse=reuse,
                                   with_rho=with_rho)
    return state


def american_implied_vols(is_call: np.ndarray, price: np.ndarray, spot: np.ndarray,
                          strike: np.ndarray, t: np.ndarray, rate: np.ndarray,
                          div_yield: np.ndarray, black76: bool, start: np.ndarray,
                          out: np.ndarray, reason: np.ndarray) -> None:
    """Generic American implied vols (validated float64[N] inputs): builds the octave panels
    each quote's iteration needs (horizon: the longest t per (call/put, r, q)), rounds of
    solve-and-extend until done."""
    q = rate if black76 else div_yield
    _, group = group_rows(is_call.astype(np.float64), rate, q)
    t_max = group_max(group, np.maximum(t, 1e-12))[group]
    first = np.where((start >= 1e-4) & (start <= 10.0), start, 0.3)
    state: AmericanBoundaries | None = None
    todo = np.arange(price.shape[0])
    need = first
    for _ in range(MAX_ROUNDS):
        state, _ = american_boundaries(is_call[todo], need[todo], rate[todo], q[todo], black76,
                                       t_max[todo], reuse=state, with_rho=False)
        sub_out = np.empty(todo.size)
        sub_reason = np.empty(todo.size, dtype=np.int8)
        american_iv_kernel(is_call[todo], price[todo], spot[todo], strike[todo], t[todo],
                           rate[todo], q[todo], black76, first[todo], state.panels_f,
                           state.panels_i, state.slot_log_vol, state.h_coef, state.hb_coef,
                           state.slot_bump, sub_out, sub_reason)
        out[todo] = sub_out
        reason[todo] = sub_reason
        pending = sub_reason == R_NEEDS_PANEL
        if not pending.any():
            return
        need = out.copy()
        todo = todo[pending]
    reason[reason == R_NEEDS_PANEL] = 4  # NO_CONVERGENCE
    out[reason == 4] = np.nan
