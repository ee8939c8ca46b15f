"""Attribution of a revaluation change, two ways (the same functions live and in backtests).

Units are the pricing core's raw ones, scaled by the caller's position weights (quantity ×
multiplier): delta per $1 of spot, gamma per $1², vega and volga per 1.00 of vol, vanna per $1
and 1.00 vol, theta per year of calendar time passing (negative for a long option), rho per
1.00 of rate. Moves: `ds` in $, `dvol` in 1.00 vol (per option where vols differ), `dt` in
years, `dr` in 1.00 of rate. Everything broadcasts: one element per option live, one per path
(or strategy × path) in the backtester.

predict — the Greeks at the start of the interval times the moves over it:
    delta·dS, ½·gamma·dS², vega·dσ, theta·dt, rho·dr, vanna·dS·dσ, ½·volga·dσ²
and `unexplained` = the revaluation change minus their sum (so predict + unexplained is the
change exactly).

explain — sequential revaluation in a fixed order, each step priced at the new time:
    time  = V(t1, S0, σ0, r0) − V(t0, S0, σ0, r0)
    spot  = V(t1, S1, σ0, r0) − V(t1, S0, σ0, r0)
    vol   = V(t1, S1, σ1, r0) − V(t1, S1, σ0, r0)
    rate  = V(t1, S1, σ1, r1) − V(t1, S1, σ1, r0)
whose sum telescopes to V1 − V0. A step whose input did not move is 0 without a revaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
PREDICT_TERMS = ("delta", "gamma", "vega", "theta", "rho", "vanna", "volga")
EXPLAIN_STEPS = ("time", "spot", "vol", "rate")


def predict(delta: ArrayLike, gamma: ArrayLike, vega: ArrayLike, theta: ArrayLike,
            rho: ArrayLike, vanna: ArrayLike, volga: ArrayLike, ds: ArrayLike,
            dvol: ArrayLike, dt: ArrayLike, dr: ArrayLike) -> dict[str, FloatArray]:
    """The Taylor terms of PREDICT_TERMS, each broadcast over the inputs."""
    ds_ = np.asarray(ds, dtype=np.float64)
    dv = np.asarray(dvol, dtype=np.float64)
    return {
        "delta": np.asarray(delta) * ds_,
        "gamma": 0.5 * np.asarray(gamma) * ds_ * ds_,
        "vega": np.asarray(vega) * dv,
        "theta": np.asarray(theta) * np.asarray(dt, dtype=np.float64),
        "rho": np.asarray(rho) * np.asarray(dr, dtype=np.float64),
        "vanna": np.asarray(vanna) * ds_ * dv,
        "volga": 0.5 * np.asarray(volga) * dv * dv,
    }


def unexplained(change: ArrayLike, terms: dict[str, FloatArray]) -> FloatArray:
    """What the predicted terms leave of the revaluation change."""
    out = np.asarray(change, dtype=np.float64).copy()
    for name in PREDICT_TERMS:
        out = out - terms[name]
    return out


@dataclass(frozen=True, slots=True)
class MarketPoint:
    """Where a book is valued: event time `t` (epoch s), `spot` ($), `vols` (1.00, one per
    option or one for all), `rate` (1.00). Arrays broadcast like the valuation function's."""

    t: float
    spot: float | FloatArray
    vols: float | FloatArray
    rate: float | FloatArray


def _moved(a: float | FloatArray, b: float | FloatArray) -> bool:
    return not np.array_equal(np.asarray(a), np.asarray(b))


def explain(value: Callable[[MarketPoint], FloatArray], before: MarketPoint,
            after: MarketPoint, v0: FloatArray | None = None,
            v1: FloatArray | None = None) -> dict[str, FloatArray]:
    """The EXPLAIN_STEPS of the change from `before` to `after`; `value(point)` revalues the
    same positions at a point. `v0` / `v1`: the values at `before` / `after` when the caller
    has them already (they are then not recomputed)."""
    start = value(before) if v0 is None else v0
    zero = np.zeros_like(np.asarray(start, dtype=np.float64))
    steps: dict[str, FloatArray] = {}
    point, prev = before, start
    for name, field in (("time", "t"), ("spot", "spot"), ("vol", "vols"), ("rate", "rate")):
        target = getattr(after, field)
        if not _moved(getattr(point, field), target):
            steps[name] = zero
            continue
        point = replace(point, **{field: target})
        last = name == "rate" or not any(
            _moved(getattr(point, f), getattr(after, f)) for f in ("t", "spot", "vols", "rate"))
        now = v1 if (last and v1 is not None) else value(point)
        steps[name] = np.asarray(now, dtype=np.float64) - prev
        prev = now
    return steps
