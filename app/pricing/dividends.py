"""Options on a stock paying discrete cash dividends (spot model): grids solved once, reused.

Model: the stock itself drops by the cash amount at each ex time (the "spot" model, as
QuantLib's FdBlackScholesVanillaEngine with CashDividendModel Spot): between ex times it
follows Black–Scholes with rate r and yield q (usually 0 when cash dividends are given). An
American call is then exercised just before an ex time when the dividend is worth more than
its time value. European and American options under dividends are priced on the same
finite-difference grid (app.pricing._grid_kernel: Crank–Nicolson in ln S with Rannacher
start-up, jumps by cubic interpolation, exercise by projection), so an American price is
never below the European price of the same option. (The escrowed closed form — Black–Scholes
on spot less the present value of the dividends — is a different model whose prices move
away from the spot model's by more than 2e-4 × strike for long-dated options with large
dividends; it is not used.)

Times are years from the valuation time: `div_times` float64[m] (ex times; the book converts
ex dates, 00:00 America/New_York, to years), `div_amounts` float64[m] (cash per share). Ex
times <= 0 are past (already in the spot) and ignored, as are ex times at or after expiry.

Reuse across ticks (the book's hot path): `dividend_grids(...)` solves, per option, the value
on a grid of ln S around the spot (±SPREAD_SD standard deviations, beyond the strike and the
dividends), at the vol and at vol ± VOL_BUMP, rate ± RATE_BUMP (for vega, volga, vanna and
rho), and one time step before valuation (charm). `dividend_grid_greeks_into(grid, spot,
elapsed, out)` then interpolates the nine figures at a new spot — a few hundred flops per
option, no solve. Re-solve when: spot leaves the option's trusted band
[grid.spot_lo, grid.spot_hi] (figures are NaN there); elapsed time since the solve exceeds
MAX_AGE_YEARS (one hour: the first-order time shift by theta and charm is then good to
~1e-5 × strike for a one-week option) or passes an ex time (NaN: the jump must be
re-applied); the vol, the rate or the dividends change (the grid does not know them: the
caller must re-solve).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.pricing._grid_kernel import grid_figures, solve_grids

__all__ = ["MAX_AGE_YEARS", "DividendGrid", "dividend_grid_greeks_into", "dividend_grids",
           "dividend_schedule"]

SPREAD_SD = 5.5
POINTS_PER_SD = 30.0
MIN_POINTS = 200
MAX_POINTS = 2400
TIME_STEPS = 200
VOL_BUMP = 1e-3
RATE_BUMP = 1e-4
#: A grid's figures are shifted in time by theta/charm for at most this long (one hour).
MAX_AGE_YEARS = 1.0 / (365.0 * 24.0)
#: Spot must stay this many standard deviations inside the grid's edges.
EDGE_SD = 1.5


@dataclass(frozen=True, slots=True)
class DividendGrid:
    """Solved grids of N options (arrays; treat as immutable). values: float64[5, N, nx]
    (at σ, σ + h, σ - h, r + h_r, r - h_r), prev: float64[N, nx] one time step (dt_prev[N])
    before valuation, grid x_j = x0 + j·dx in ln S; spot_lo, spot_hi: the trusted spot band."""

    is_call: np.ndarray
    strike: np.ndarray
    t: np.ndarray
    vol: np.ndarray
    rate: np.ndarray
    div_yield: np.ndarray
    american: np.ndarray
    div_times: np.ndarray
    div_amounts: np.ndarray
    x0: np.ndarray
    dx: np.ndarray
    values: np.ndarray
    prev: np.ndarray
    dt_prev: np.ndarray
    spot_lo: np.ndarray
    spot_hi: np.ndarray
    vol_bump: np.ndarray


def dividend_schedule(dividends: Any) -> tuple[np.ndarray, np.ndarray]:
    """(times, amounts) float64 arrays from [(ex_time_years, amount), ...] or a pair of
    arrays; ValueError on non-finite values or negative amounts."""
    if isinstance(dividends, tuple) and len(dividends) == 2 and np.ndim(dividends[0]) == 1:
        times, amounts = (np.asarray(a, dtype=np.float64) for a in dividends)
    else:
        arr = np.asarray(list(dividends), dtype=np.float64).reshape(-1, 2)
        times, amounts = arr[:, 0].copy(), arr[:, 1].copy()
    if times.shape != amounts.shape:
        raise ValueError("dividends: times and amounts must have the same length")
    if not (np.isfinite(times).all() and np.isfinite(amounts).all()):
        raise ValueError("dividends must be finite (ex time in years, cash amount)")
    if (amounts < 0.0).any():
        raise ValueError("dividends: amounts must be >= 0")
    order = np.argsort(times, kind="stable")
    return np.ascontiguousarray(times[order]), np.ascontiguousarray(amounts[order])


def dividend_grids(is_call: np.ndarray, spot: np.ndarray, strike: np.ndarray, t: np.ndarray,
                   vol: np.ndarray, rate: np.ndarray, div_yield: np.ndarray,
                   american: np.ndarray, div_times: np.ndarray, div_amounts: np.ndarray,
                   time_steps: int = TIME_STEPS, points_per_sd: float = POINTS_PER_SD,
                   spot_high: np.ndarray | None = None) -> DividendGrid:
    """Solve the grids of N options (float64[N] / bool[N] arrays, t > 0, vol > 0) around
    their current spots — or, with `spot_high`, over the spots from `spot` to `spot_high`
    (one grid read at many spots: a backtest's paths). Five Crank–Nicolson solves per option
    (see the module docstring)."""
    n = strike.shape[0]
    sd = np.maximum(vol * np.sqrt(t), 1e-4)
    before = (div_times[None, :] > 0.0) & (div_times[None, :] < t[:, None])
    paid = (before * div_amounts[None, :]).sum(axis=1)
    low_spot = np.maximum(spot - paid, 0.05 * spot)
    top = spot if spot_high is None else np.maximum(spot, spot_high)
    lo = np.minimum(np.log(low_spot), np.log(strike)) - SPREAD_SD * sd
    hi = np.maximum(np.log(top), np.log(strike)) + SPREAD_SD * sd
    points = np.clip(np.ceil((hi - lo) / sd * points_per_sd), MIN_POINTS, MAX_POINTS)
    nx = int(points.max()) if n else MIN_POINTS
    dx = (hi - lo) / (nx - 1)
    values = np.empty((5, n, nx))
    prev = np.empty((n, nx))
    dt_prev = np.empty(n)
    vol_bump = np.minimum(VOL_BUMP, 0.5 * vol)
    solve_grids(is_call, strike, t, vol, rate, div_yield, american, div_times, div_amounts,
                lo, dx, nx, time_steps, vol_bump, RATE_BUMP, values, prev, dt_prev)
    band = EDGE_SD * sd
    return DividendGrid(is_call, strike, t, vol, rate, div_yield, american, div_times,
                        div_amounts, lo, dx, values, prev, dt_prev, np.exp(lo + band),
                        np.exp(hi - band), vol_bump)


def dividend_grid_greeks_into(grid: DividendGrid, spot: float | np.ndarray, elapsed: float,
                              out: np.ndarray) -> int:
    """Nine figures (out float64[9, N], GREEK_NAMES rows) at spot (float or float64[N]),
    `elapsed` years after the solve (>= 0). Returns how many options are stale (NaN): spot
    outside their band, or the grid too old / an ex time passed (then all are)."""
    n = grid.strike.shape[0]
    passed = (grid.div_times > 0.0) & (grid.div_times <= elapsed)
    if elapsed > MAX_AGE_YEARS or elapsed < 0.0 or bool(passed.any()):
        out[:, :n] = np.nan
        return int(n)
    s = np.ascontiguousarray(np.atleast_1d(np.asarray(spot, dtype=np.float64)))
    grid_figures(grid.values, grid.prev, grid.x0, grid.dx, grid.values.shape[2], grid.is_call,
                 grid.strike, grid.t, grid.vol, grid.rate, grid.div_yield, grid.american,
                 grid.vol_bump, RATE_BUMP, grid.dt_prev, s, elapsed, out)
    sb = np.broadcast_to(s, (n,))
    stale = (sb < grid.spot_lo) | (sb > grid.spot_hi)
    if stale.any():
        out[:, stale] = np.nan
    return int(np.count_nonzero(stale))


def figures_with_dividends(is_call: np.ndarray, spot: np.ndarray, strike: np.ndarray,
                           t: np.ndarray, vol: np.ndarray, rate: np.ndarray,
                           div_yield: np.ndarray, american: np.ndarray, div_times: np.ndarray,
                           div_amounts: np.ndarray, out: np.ndarray) -> None:
    """Nine figures of validated options (float64[N]) under cash dividends, solved and read
    at once (expired options: the caller's intrinsic values; vol below 1e-4 is solved at
    1e-4, the grid's resolution limit)."""
    live = np.flatnonzero(t > 0.0)
    if live.size == 0:
        return
    grid = dividend_grids(is_call[live], spot[live], strike[live], t[live],
                          np.maximum(vol[live], 1e-4),
                          rate[live], div_yield[live], american[live], div_times, div_amounts)
    sub = np.empty((9, live.size))
    grid_figures(grid.values, grid.prev, grid.x0, grid.dx, grid.values.shape[2], grid.is_call,
                 grid.strike, grid.t, grid.vol, grid.rate, grid.div_yield, grid.american,
                 grid.vol_bump, RATE_BUMP, grid.dt_prev, np.ascontiguousarray(spot[live]), 0.0,
                 sub)
    out[:, live] = sub

