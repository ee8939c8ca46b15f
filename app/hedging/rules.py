"""The hedge rules, broadcasting over numpy arrays (scalars give 0-d arrays).

The rules are written once, as the numba scalar functions of `app.hedging._kernel` that the
one hedge decision (`app.hedging.decide`) runs for the live engine and the backtester alike;
these wrappers apply the same functions element by element, for a figure outside a decision
(the options plan's share hedge) and for rules worked by hand in tests.

Units: `net`, `target`, `half_width` and `goal` in shares of the underlying; `spot` in $;
`gamma` in shares per $1; `cost_per_share` in $; `tau` in years; order sizes and positions in
units of the hedge instrument; times in epoch seconds.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from app.hedging import _kernel as K
from app.pricing.arrays import BoolArray, FloatArray

_band_goal = np.vectorize(K.band_goal, otypes=[np.float64])
_ww = np.vectorize(K.whalley_wilmott_half_width, otypes=[np.float64])
_order_units = np.vectorize(K.order_units, otypes=[np.float64])
_interval_due = np.vectorize(K.interval_due, otypes=[np.float64])
_interval_slot = np.vectorize(K.interval_slot, otypes=[np.float64])
_clip_order = np.vectorize(K.clip_order, otypes=[np.float64])


def _quiet_nan(fn: np.vectorize, *args: ArrayLike) -> FloatArray:
    """`fn` over the broadcast arguments, as float64. A compiled comparison with NaN (a band
    or a schedule not set yet) raises the processor's "invalid" flag where numpy's own
    comparisons do not: NaN is data here (per-element failure), not a warning."""
    # floats in (flags stay bool): one compiled specialization, whatever the caller passes
    typed = [a if isinstance(a, np.ndarray) and a.dtype == np.bool_ else
             np.asarray(a, dtype=np.float64) for a in args]
    with np.errstate(invalid="ignore"):
        return np.asarray(fn(*typed), dtype=np.float64)


def band_goal(
    net: ArrayLike, target: ArrayLike, half_width: ArrayLike, to_edge: ArrayLike
) -> FloatArray:
    """The delta to trade to where |net − target| > half_width; NaN inside the band.

    `to_edge` true: the nearer band edge (target ± half_width); false: the target itself.
    """
    return _quiet_nan(_band_goal, net, target, half_width, np.asarray(to_edge, np.bool_))


def whalley_wilmott_half_width(
    spot: ArrayLike,
    gamma: ArrayLike,
    cost_per_share: ArrayLike,
    risk_aversion: ArrayLike,
    rate: ArrayLike = 0.0,
    tau: ArrayLike = 0.0,
) -> FloatArray:
    """Whalley & Wilmott (1997) asymptotic no-trade half-width, in shares:

        H = (3/2 · e^{−r τ} · λ · S · Γ² / γ)^{1/3},   λ = cost_per_share / S

    so λ·S is the $ cost of one share, Γ the book's gamma in shares per $1 (its sign does not
    matter), γ the risk aversion (per $), τ the gamma-weighted time to expiry in years.
    Returns 0 where Γ is 0 (the decision then falls back to the policy's fixed band).
    """
    return _quiet_nan(_ww, spot, gamma, cost_per_share, risk_aversion, rate, tau)


def order_units(
    goal: ArrayLike, net: ArrayLike, shares_per_unit: ArrayLike, lot_size: ArrayLike
) -> FloatArray:
    """Units of the hedge instrument that move `net` to `goal`, rounded to whole lots:
    lot_size × round((goal − net) / shares_per_unit / lot_size). NaN goal gives 0."""
    return _quiet_nan(_order_units, goal, net, shares_per_unit, lot_size)


def interval_due(event_ts: ArrayLike, last_ts: ArrayLike, interval_s: ArrayLike) -> BoolArray:
    """True where `interval_s` seconds of event time have passed since the last check
    (a NaN `last_ts` means never checked: due)."""
    return np.not_equal(_quiet_nan(_interval_due, event_ts, last_ts, interval_s), 0.0)


def interval_slot(
    event_ts: ArrayLike,
    last_ts: ArrayLike,
    interval_s: ArrayLike,
    origin: float | None = None,
) -> FloatArray:
    """The slot a due interval check takes. Without `origin` (live): the first check (NaN
    `last_ts`) anchors the schedule at its own time, later ones advance it by whole
    intervals, so checks stay on a fixed grid however late the ticks come. With `origin`
    (the backtester's grid): the slot of a grid of `interval_s` counted from it."""
    return _quiet_nan(_interval_slot, event_ts, last_ts, interval_s,
                      math.nan if origin is None else origin)


def clip_order(
    order: ArrayLike,
    position: ArrayLike,
    max_order: float | None,
    max_position: float | None,
    lot_size: ArrayLike = 1.0,
) -> FloatArray:
    """Clip an order (units, signed) to ±max_order and so that |position + order| stays within
    max_position — the clipped part rounded toward zero to whole lots."""
    return _quiet_nan(_clip_order, order, position, math.nan if max_order is None else max_order,
                      math.nan if max_position is None else max_position, lot_size)
