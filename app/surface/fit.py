"""Fitting a surface to quotes: filter, fit (raw SVI per expiry, or SSVI), check, decide.

`fit_surface` never raises on bad quotes: it returns a SurfaceFit whose `accepted` says
whether the new surface may replace the one in use, with the reasons when not (no expiry
fitted, butterfly or calendar arbitrage, RMS error over the limit). The raw SVI fit of one
expiry minimizes Σ ω_i (w(k_i) − σ_i² t)² / (2 σ_i t)² - weighted squared vol errors to
first order - with the quasi-explicit method of _fit_kernel.py. Expiries are fitted from the
longest down, each kept on or below the next one on the calendar check's grid and with wings
no steeper (linear constraints of the quasi-explicit inner problem; the longest expiry's
quotes span the most k, so its wings are the best determined), and away from
negative densities on the butterfly check's grid (a penalty on the outer problem): fits of
noisy quotes otherwise cross in the far wings or dip where no quote is (arbitrage no quote
shows). This does not guarantee an arbitrage-free fit; the checks decide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.surface._fit_kernel import bounds, clean_kernel, fit_kernel, workspace
from app.surface.checks import (
    CALENDAR_GRID,
    CALENDAR_TOL,
    DEFAULT_K_GRID,
    FAR_K,
    ButterflyCheck,
    CalendarCheck,
    butterfly_check,
    calendar_check,
)
from app.surface.quotes import Quotes, QuoteSelection, filter_quotes
from app.surface.ssvi import fit_ssvi
from app.surface.surface import MODELS, Slice, Surface, ssvi_surface
from app.surface.svi import SviParams

__all__ = ["FIT_CALENDAR_GRID", "FitLimits", "SliceFit", "SurfaceFit", "fit_surface",
           "fit_svi_slice"]

#: where each expiry's fit keeps its smile on or above the previous expiry's: the calendar
#: check's grid (k ∈ [−3, 3] by 0.05) and its far points out to |k| = 1e6
FIT_CALENDAR_GRID = np.concatenate([CALENDAR_GRID, FAR_K])


@dataclass(frozen=True, slots=True)
class FitLimits:
    """min_quotes: usable quotes an expiry needs (SVI has 5 parameters); max_rms_vol_pts:
    a fit whose RMS error over all used quotes exceeds this (in vol points, 1.0 = 1 %) is
    rejected; k_range: the butterfly grid covers at least this, widened to the quotes."""

    min_quotes: int = 5
    max_rms_vol_pts: float = 2.0
    k_range: tuple[float, float] = (-1.0, 1.0)


@dataclass(frozen=True, slots=True)
class SliceFit:
    """One expiry's outcome: its smile, quotes used and the error at them (vol points)."""

    t: float
    forward: float
    params: SviParams
    n_used: int
    rms_vol_pts: float
    max_error_vol_pts: float
    expiry: str | None = None

    def as_dict(self) -> dict[str, Any]:
        p = self.params
        return {"expiry": self.expiry, "t": self.t, "forward": self.forward, "a": p.a,
                "b": p.b, "rho": p.rho, "m": p.m, "sigma": p.sigma, "n_used": self.n_used,
                "rms_vol_pts": self.rms_vol_pts, "max_error_vol_pts": self.max_error_vol_pts}


@dataclass(frozen=True, slots=True, eq=False)
class SurfaceFit:
    """The outcome of one fit. surface is None only when no expiry could be fitted; use it
    only when accepted (else keep the surface in use and show `reasons`)."""

    model: str
    surface: Surface | None
    accepted: bool
    reasons: tuple[str, ...]
    slices: tuple[SliceFit, ...]
    butterfly: ButterflyCheck | None
    calendar: CalendarCheck | None
    rms_vol_pts: float
    quotes: QuoteSelection
    skipped: tuple[float, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready report (finite floats; inf/NaN as None)."""
        def num(x: float) -> float | None:
            return x if math.isfinite(x) else None

        out: dict[str, Any] = {
            "model": self.model, "accepted": self.accepted, "reasons": list(self.reasons),
            "rms_vol_pts": num(self.rms_vol_pts),
            "expiries": [s.as_dict() for s in self.slices],
            "skipped_expiries_t": list(self.skipped),
            "quotes": {"used": int(self.quotes.used.sum()),
                       "rejected": [{"index": i, "reason": r}
                                    for i, r in self.quotes.rejected()],
                       "rejected_by_reason": self.quotes.counts()},
        }
        if self.butterfly is not None:
            b = self.butterfly
            out["butterfly"] = {"ok": b.ok, "min_density": num(b.min_density),
                                "at_k": num(b.at_k), "at_t": num(b.at_t)}
        if self.calendar is not None:
            c = self.calendar
            out["calendar"] = {"ok": c.ok, "min_increase": num(c.min_increase),
                               "at_k": num(c.at_k), "between_t": c.between}
        if self.surface is not None and self.surface.ssvi is not None:
            out["ssvi"] = self.surface.as_dict()["ssvi"]
        return out


def fit_svi_slice(k: np.ndarray, vol: np.ndarray, t: float, weight: np.ndarray | None = None,
                  above: SviParams | None = None,
                  butterfly_grid: np.ndarray | None = DEFAULT_K_GRID) -> SviParams:
    """Raw SVI params of one expiry from clean quotes: log-moneyness k, vols (float64[n],
    n ≥ 5), years t; weight ω (vol-error weights, default 1).

    above: the next (longer) expiry's smile: this one is kept on or below it on
    FIT_CALENDAR_GRID, its wings no steeper (no calendar arbitrage against it);
    butterfly_grid: the k grid on which the fit avoids negative densities (None: no such
    penalty). NaN params when no fit is found."""
    k = np.ascontiguousarray(k, dtype=np.float64)
    vol = np.ascontiguousarray(vol, dtype=np.float64)
    om = np.ones_like(k) if weight is None else np.asarray(weight, dtype=np.float64)
    wt = om / (2.0 * vol * t) ** 2
    wt = np.ascontiguousarray(wt / wt.sum())
    total = vol * vol * t
    out = np.empty(5)
    hs = bounds(None if above is None else above.wing_slopes)
    none = np.empty(0)
    # First without the calendar rows and the density penalty (the usual case: they do not
    # bind); again with them when the result breaks either.
    sse = fit_kernel(k, total, wt, hs, none, none, none, out, workspace(0))
    cal_k = none if above is None else FIT_CALENDAR_GRID
    cal_w = none if above is None else above.total_variance(FIT_CALENDAR_GRID)
    grid = none if butterfly_grid is None else np.ascontiguousarray(butterfly_grid,
                                                                    dtype=np.float64)
    if math.isfinite(sse) and not clean_kernel(out, cal_k, cal_w, CALENDAR_TOL, grid):
        sse = fit_kernel(k, total, wt, hs, cal_k, cal_w, grid, out, workspace(cal_k.size))
    if not math.isfinite(sse):
        return SviParams(*(math.nan,) * 5)
    a, b, rho, m, sigma = (float(x) for x in out)
    floor = a + b * sigma * math.sqrt(1.0 - rho * rho)
    if floor < 0.0:  # rounding: the fit's polytope lies inside the constraint
        a -= floor
    return SviParams(a, b, rho, m, sigma)


def _k_grid(limits: FitLimits, k_used: np.ndarray) -> np.ndarray:
    lo = min(limits.k_range[0], float(k_used.min()) if k_used.size else 0.0)
    hi = max(limits.k_range[1], float(k_used.max()) if k_used.size else 0.0)
    if (lo, hi) == (-1.0, 1.0):
        return DEFAULT_K_GRID
    return np.linspace(lo, hi, 201)


def fit_surface(quotes: Quotes, model: str = "svi", limits: FitLimits | None = None,
                spot: float | None = None,
                expiry: Mapping[float, str] | None = None) -> SurfaceFit:
    """Filter the quotes, fit one smile per expiry (raw SVI, or SSVI across expiries), run the
    arbitrage checks and decide. Quotes of one expiry share exactly the same t. spot: the
    spot at the fit (kept for sticky-strike dynamics); expiry: optional labels by t.
    ValueError only for an unknown model."""
    if model not in MODELS:
        raise ValueError(f"model: must be one of {', '.join(MODELS)}, got {model!r}")
    limits = limits or FitLimits()
    sel = filter_quotes(quotes, min_quotes=max(limits.min_quotes, 5))
    used = sel.used
    times = np.unique(quotes.t[used])
    labels = dict(expiry or {})
    k_all, iv_all, t_all, om_all = sel.k[used], sel.iv[used], quotes.t[used], sel.weight[used]
    forwards = [float(quotes.forward[used & (quotes.t == t)][0]) for t in times]
    reasons: list[str] = []
    slices: list[Slice] = []
    skipped: list[float] = []
    if model == "ssvi" and times.size:
        e = np.searchsorted(times, t_all)
        params, theta, _ = fit_ssvi(k_all, iv_all, t_all, om_all, e, times.size)
        surface: Surface | None = ssvi_surface(params, list(times), list(theta), forwards,
                                               [labels.get(float(t)) for t in times], spot)
    else:
        above = None
        grid = _k_grid(limits, k_all)
        for t, f in zip(times[::-1], forwards[::-1], strict=True):  # longest first
            g = t_all == t
            p = fit_svi_slice(k_all[g], iv_all[g], float(t), om_all[g], above, grid)
            if not math.isfinite(p.a):
                skipped.append(float(t))
                continue
            slices.insert(0, Slice(float(t), f, p, labels.get(float(t))))
            above = p
        surface = Surface(tuple(slices), model="svi", spot=spot) if slices else None
    if surface is None:
        return SurfaceFit(model, None, False, ("no expiry could be fitted: "
                                               f"{sel.counts() or 'no quotes'}",),
                          (), None, None, math.nan, sel, tuple(skipped))
    fits, errors = _slice_fits(surface, k_all, iv_all, t_all)
    rms = float(np.sqrt(np.mean(errors ** 2)))
    butterfly = butterfly_check(surface, _k_grid(limits, k_all))
    calendar = calendar_check(surface)
    skipped.sort()
    if skipped:
        reasons.append(f"no SVI fit for expiries t = {skipped}")
    if not butterfly.ok:
        reasons.append(butterfly.reason())
    if not calendar.ok:
        reasons.append(calendar.reason())
    if not rms <= limits.max_rms_vol_pts:
        reasons.append(f"RMS error {rms:.3g} vol points over the limit "
                       f"{limits.max_rms_vol_pts:g}")
    return SurfaceFit(model, surface, not reasons, tuple(reasons), fits, butterfly, calendar,
                      rms, sel, tuple(skipped))


def _slice_fits(surface: Surface, k: np.ndarray, iv: np.ndarray,
                t: np.ndarray) -> tuple[tuple[SliceFit, ...], np.ndarray]:
    """Per node: quotes used and the error of the fit at them; all errors (vol points)."""
    keep = np.isin(t, surface.times)
    k, iv, t = k[keep], iv[keep], t[keep]
    errors = 100.0 * (surface.smile(np.ascontiguousarray(k), np.ascontiguousarray(t))[0] - iv)
    out = []
    for s in surface.slices:
        g = t == s.t
        e = errors[g]
        out.append(SliceFit(s.t, s.forward, s.params, int(g.sum()),
                            float(np.sqrt(np.mean(e ** 2))) if e.size else math.nan,
                            float(np.abs(e).max()) if e.size else math.nan, s.expiry))
    return tuple(out), errors

