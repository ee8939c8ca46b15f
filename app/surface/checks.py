"""Static-arbitrage checks of a surface: butterfly (the density) and calendar.

Butterfly: with total variance w(k) of one expiry, the risk-neutral density of ln(S_T/F) is
non-negative iff (Gatheral–Jacquier 2014, eq. 2.1)
    g(k) = (1 − k w'/(2w))² − (w'²/4)(1/w + 1/4) + w''/2 ≥ 0.
It is checked on a k grid (default [−1, 1], 201 points; the fit widens it to the quoted range)
for every node smile, mid-way between neighbouring nodes, and at twice the last node's t.
Calendar: w(k, t) non-decreasing in t at every k: each node against the next on a grid of
k ∈ [−3, 3] (by 0.05) and at |k| = 5 … 1e6, where two SVI smiles whose wing slopes would let them
cross beyond the grid show it. The time rule between and beyond nodes preserves it (see surface.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.surface.surface import Surface
from app.surface.svi import svi_total_variance

__all__ = ["CALENDAR_GRID", "DEFAULT_K_GRID", "FAR_K", "ButterflyCheck", "CalendarCheck",
           "butterfly_check", "calendar_check", "density", "require_calendar"]

DEFAULT_K_GRID = np.linspace(-1.0, 1.0, 201)
CALENDAR_GRID = np.linspace(-3.0, 3.0, 121)
#: tolerances: rounding of w itself (~1e-16 relative) must not read as arbitrage
DENSITY_TOL = 1e-9
CALENDAR_TOL = 1e-12


@dataclass(frozen=True, slots=True)
class ButterflyCheck:
    """ok when min g(k) ≥ −DENSITY_TOL; where the minimum is (k, t)."""

    ok: bool
    min_density: float
    at_k: float
    at_t: float

    def reason(self) -> str:
        return (f"butterfly arbitrage: density g(k) = {self.min_density:.4g} < 0 at "
                f"k = {self.at_k:.4g}, t = {self.at_t:.4g}")


@dataclass(frozen=True, slots=True)
class CalendarCheck:
    """ok when total variance never falls from one node to the next; the worst fall is
    min_increase (< 0 when it falls; relative to w where w > 1, i.e. far in the wings) at k
    between node times (t_before, t_after)."""

    ok: bool
    min_increase: float
    at_k: float
    between: tuple[float, float] | None

    def reason(self) -> str:
        assert self.between is not None
        return (f"calendar arbitrage: total variance falls by {-self.min_increase:.4g} from "
                f"t = {self.between[0]:.4g} to t = {self.between[1]:.4g} at k = {self.at_k:.4g}")


def density(w: np.ndarray, wk: np.ndarray, wkk: np.ndarray, k: np.ndarray) -> np.ndarray:
    """g(k) from w, w', w'' (any matching shapes); −inf where w ≤ 0 and w' ≠ 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        g: np.ndarray = ((1.0 - k * wk / (2.0 * w)) ** 2 - 0.25 * wk * wk * (1.0 / w + 0.25)
                         + 0.5 * wkk)
    return np.where(np.isfinite(g), g, -np.inf)


def butterfly_check(surface: Surface, k_grid: np.ndarray | None = None) -> ButterflyCheck:
    """Minimum of the density over k_grid at the nodes, the mid-points and 2 × the last t."""
    k = DEFAULT_K_GRID if k_grid is None else np.asarray(k_grid, dtype=np.float64)
    times = surface.times
    ts = np.concatenate([times, 0.5 * (times[:-1] + times[1:]), [2.0 * times[-1]]])
    kk = np.tile(k, ts.size)
    tt = np.repeat(ts, k.size)
    w, wk, wkk = surface.total_variance(kk, tt)
    g = density(w, wk, wkk, kk)
    i = int(np.argmin(g))
    return ButterflyCheck(bool(g[i] >= -DENSITY_TOL), float(g[i]), float(kk[i]), float(tt[i]))


FAR_K = np.array([-1e6, -1e3, -1e2, -10.0, -5.0, 5.0, 10.0, 1e2, 1e3, 1e6])


def _gaps(surface: Surface, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pair of neighbouring nodes i, i+1: (worst (w_i+1 − w_i) / max(1, w_i) over k,
    where, k grid used). The grid is k plus far points out to |k| = 1e6, where two SVI
    smiles whose wing slopes b(1 ± ρ) let them cross beyond the grid show it (relative
    there, so the rounding of w ~ 1e6 is not read as a crossing)."""
    kk = np.concatenate([k, FAR_K])
    w = svi_total_variance(surface.params[:, None, :], kk[None, :])
    gap = (w[1:] - w[:-1]) / np.maximum(1.0, np.abs(w[:-1]))
    where = np.argmin(gap, axis=1)
    return gap[np.arange(gap.shape[0]), where], kk[where], kk


def calendar_check(surface: Surface, k_grid: np.ndarray | None = None) -> CalendarCheck:
    """Worst fall of total variance between consecutive nodes (grid k ∈ [−3, 3] + wings)."""
    if len(surface.slices) < 2:
        return CalendarCheck(True, math.inf, math.nan, None)
    k = CALENDAR_GRID if k_grid is None else np.asarray(k_grid, dtype=np.float64)
    worst, at, _ = _gaps(surface, k)
    i = int(np.argmin(worst))
    t = surface.times
    return CalendarCheck(bool(worst[i] >= -CALENDAR_TOL), float(worst[i]), float(at[i]),
                         (float(t[i]), float(t[i + 1])))


def require_calendar(surface: Surface, names: Sequence[str] | None = None,
                     only: int | None = None) -> None:
    """ValueError "expiries[i]: calendar arbitrage ..." naming the later expiry of the first
    crossing pair (only: check just the pairs around that node)."""
    n = len(surface.slices)
    if n < 2:
        return
    worst, at_k, _ = _gaps(surface, CALENDAR_GRID)
    pairs = range(n - 1) if only is None else [i for i in (only - 1, only) if 0 <= i < n - 1]
    for i in pairs:
        gap, at = float(worst[i]), float(at_k[i])
        if gap < -CALENDAR_TOL:
            name = names[i + 1] if names is not None else f"expiries[{i + 1}]"
            before = names[i] if names is not None else f"expiries[{i}]"
            where = f"at k = {at:.4g}"
            raise ValueError(f"{name}: calendar arbitrage against {before}: total variance "
                             f"falls {where} (by {-gap:.4g})")
