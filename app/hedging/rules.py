"""The hedge rules as pure, broadcasting numpy functions.

One code path for the live engine (scalars, one underlying per call) and the backtester
(arrays over paths): a rule that behaves one way live and another in a backtest is a bug.

Units: `net`, `target`, `half_width` and `goal` in shares of the underlying; `spot` in $;
`gamma` in shares per $1; `cost_per_share` in $; `tau` in years; order sizes in units of the
hedge instrument.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def band_goal(
    net: ArrayLike, target: ArrayLike, half_width: ArrayLike, to_edge: ArrayLike
) -> FloatArray:
    """The delta to trade to where |net − target| > half_width; NaN inside the band.

    `to_edge` true: the nearer band edge (target ± half_width); false: the target itself.
    """
    net = np.asarray(net, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    diff = net - target
    outside = np.abs(diff) > half_width
    goal = np.where(to_edge, target + np.sign(diff) * half_width, target)
    return np.where(outside, goal, np.nan)


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
    Returns 0 where Γ is 0 (the caller falls back to the policy's fixed band).
    """
    s = np.asarray(spot, dtype=np.float64)
    lam = np.asarray(cost_per_share, dtype=np.float64) / s
    g2 = np.square(np.asarray(gamma, dtype=np.float64))
    decay = np.exp(-np.asarray(rate, dtype=np.float64) * np.asarray(tau, dtype=np.float64))
    inner = 1.5 * decay * lam * s * g2 / np.asarray(risk_aversion, dtype=np.float64)
    return np.cbrt(inner)


def order_units(
    goal: ArrayLike, net: ArrayLike, shares_per_unit: ArrayLike, lot_size: ArrayLike
) -> FloatArray:
    """Units of the hedge instrument that move `net` to `goal`, rounded to whole lots:
    lot_size × round((goal − net) / shares_per_unit / lot_size). NaN goal gives 0."""
    gap = (np.asarray(goal, dtype=np.float64) - np.asarray(net, dtype=np.float64)) / np.asarray(
        shares_per_unit, dtype=np.float64)
    lot = np.asarray(lot_size, dtype=np.float64)
    lots = np.rint(np.nan_to_num(gap / lot, nan=0.0))
    return lots * lot + 0.0  # + 0.0 turns −0 into 0


def interval_due(
    event_ts: ArrayLike, last_ts: ArrayLike, interval_s: ArrayLike
) -> NDArray[np.bool_]:
    """True where `interval_s` seconds of event time have passed since the last rebalance
    (a NaN `last_ts` means never rebalanced: due)."""
    last = np.asarray(last_ts, dtype=np.float64)
    return np.isnan(last) | (np.asarray(event_ts) - last >= np.asarray(interval_s) - 1e-9)


def interval_slot(event_ts: ArrayLike, last_ts: ArrayLike, interval_s: ArrayLike) -> FloatArray:
    """The slot a due interval check takes: the first check (NaN `last_ts`) anchors the
    schedule at its own time; later ones advance it by whole intervals, so checks stay on a
    fixed grid however late the ticks come."""
    event = np.asarray(event_ts, dtype=np.float64)
    last = np.asarray(last_ts, dtype=np.float64)
    interval = np.asarray(interval_s, dtype=np.float64)
    steps = np.floor((event - np.where(np.isnan(last), event, last)) / interval + 1e-9)
    return np.where(np.isnan(last), event, last + steps * interval)


def clip_order(
    order: ArrayLike,
    position: ArrayLike,
    max_order: float | None,
    max_position: float | None,
    lot_size: ArrayLike = 1.0,
) -> FloatArray:
    """Clip an order (units, signed) to ±max_order and so that |position + order| stays within
    max_position — the clipped part rounded toward zero to whole lots."""
    out = np.asarray(order, dtype=np.float64)
    if max_order is not None:
        out = np.clip(out, -max_order, max_order)
    if max_position is not None:
        pos = np.asarray(position, dtype=np.float64)
        lo = np.minimum(-max_position - pos, 0.0)
        hi = np.maximum(max_position - pos, 0.0)
        # beyond the limit already: only orders back toward it pass (lo or hi is then 0)
        out = np.clip(out, lo, hi)
    lot = np.asarray(lot_size, dtype=np.float64)
    return np.trunc(out / lot) * lot + 0.0
