# mypy: ignore-errors
# (numba kernels: types are inferred by numba at compile time, not annotated)
"""The hedge rules and the one hedge decision, as numba scalar functions.

This is the only place the rules are written. `app.hedging.rules` broadcasts them over arrays;
`app.hedging.decide` runs `decide_kernel` over any number of elements — one for the live
engine, one per path for the backtester.

Units: net, target, half-widths and goals in shares of the underlying; spot and notional in $;
gamma in shares per $1; tau in years; orders, positions, pending, min/max_order and
max_position in units of the hedge instrument; times in epoch seconds.

A figure that does not apply is NaN: `max_order`, `max_position`, `max_notional` NaN = no
limit; `origin` NaN = interval slots anchored at the first check (the live rule); `last_check`
NaN = never checked. Flags travel as 0.0 / 1.0 in the packed arrays.

No fastmath, and numpy's error model (x / 0 is inf, not an exception): the arithmetic is, op
for op, the numpy rules' (`np.rint`, `np.trunc`, `np.clip` with NaN propagating, `np.cbrt`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_JIT = {"cache": True, "error_model": "numpy"}
_DBL_MAX = 1.7976931348623157e308  # what np.nan_to_num turns +inf into

# Policy modes.
OFF, BAND, INTERVAL, WHALLEY_WILMOTT = range(4)

# Reason codes: SIGNAL, or why not (the order in which a decision checks them). NETTED is
# never produced here: it is the shared-instrument netting's, after the decisions.
(SIGNAL, R_OFF, NO_SPOT, HALTED, SYSTEM_HALT, STALE, INTERVAL_NOT_DUE, INSIDE_BAND,
 BELOW_MIN_ORDER, CLIP_PENDING, LIMIT, REDUCE_ONLY, THROTTLED, NOTIONAL_LIMIT, NETTED) = range(15)

# Breach of max_position found by a decision: the position is beyond it already, or the
# wanted (unclipped) order would take it beyond.
NO_BREACH, BEYOND_LIMIT, WANTED_BEYOND_LIMIT = range(3)

# Rows of the packed arrays: params (N_PARAMS,), inputs (N_INPUTS, n), outputs (N_OUTPUTS, n).
(P_MODE, P_BAND, P_TO_EDGE, P_INTERVAL_S, P_MIN_ORDER, P_MAX_ORDER, P_MAX_POSITION,
 P_COST_PER_SHARE, P_RISK_AVERSION, P_MAX_NOTIONAL, P_REDUCE_ONLY, P_SHARES_PER_UNIT,
 P_LOT_SIZE, P_RATE, P_ORIGIN, N_PARAMS) = range(16)
(X_VALUED, X_DELTA, X_PENDING, X_POSITION, X_SPOT, X_GAMMA, X_TAU, X_AS_OF, X_TARGET,
 X_LAST_CHECK, X_HALTED, X_SYSTEM_HALT, X_STALE, X_CLIP_PENDING, X_REDUCE_ONLY, X_THROTTLED,
 X_NOTIONAL_USED, N_INPUTS) = range(18)
(O_ORDER, O_REASON, O_NET, O_HALF_WIDTH, O_LAST_CHECK, O_WANTED, O_CLIPPED, O_BREACH,
 O_NOTIONAL, N_OUTPUTS) = range(10)


# --- the rules ---------------------------------------------------------------------------------


@njit(**_JIT)
def band_goal(net, target, half_width, to_edge):
    """The delta to trade to where |net − target| > half_width (the target, or the nearer
    edge target ± half_width when `to_edge`); NaN inside the band."""
    diff = net - target
    if not abs(diff) > half_width:
        return np.nan
    if to_edge:
        return target + np.sign(diff) * half_width
    return target


@njit(**_JIT)
def whalley_wilmott_half_width(spot, gamma, cost_per_share, risk_aversion, rate, tau):
    """H = (3/2 · e^{−r τ} · λ · S · Γ² / γ)^{1/3}, λ = cost_per_share / S (shares)."""
    lam = cost_per_share / spot
    decay = np.exp(-rate * tau)
    return np.cbrt(1.5 * decay * lam * spot * (gamma * gamma) / risk_aversion)


@njit(**_JIT)
def half_width(mode, band, spot, gamma, cost_per_share, risk_aversion, rate, tau):
    """The band half-width a policy uses now: Whalley–Wilmott's where it is positive, else
    the fixed `band` (no gamma, no spot, or not a Whalley–Wilmott policy)."""
    if mode == WHALLEY_WILMOTT and gamma != 0.0 and spot != 0.0:
        h = whalley_wilmott_half_width(spot, gamma, cost_per_share, risk_aversion, rate, tau)
        if h > 0.0:
            return h
    return band


@njit(**_JIT)
def order_units(goal, net, shares_per_unit, lot_size):
    """lot_size × round((goal − net) / shares_per_unit / lot_size), half to even; NaN → 0."""
    lots = (goal - net) / shares_per_unit / lot_size
    if np.isnan(lots):
        lots = 0.0
    elif lots == np.inf:
        lots = _DBL_MAX
    elif lots == -np.inf:
        lots = -_DBL_MAX
    return np.rint(lots) * lot_size + 0.0  # + 0.0 turns −0 into 0


@njit(**_JIT)
def interval_due(event_ts, last_ts, interval_s):
    """True when `interval_s` of event time passed since the last check (NaN: never)."""
    return np.isnan(last_ts) or event_ts - last_ts >= interval_s - 1e-9


@njit(**_JIT)
def interval_slot(event_ts, last_ts, interval_s, origin):
    """The slot a due check takes. With an `origin`: the slot of a grid of `interval_s` from
    it (the backtester's, exactly one per interval). Without (NaN): the first check anchors
    the grid at its own time, later ones advance it by whole intervals (the live rule)."""
    if not np.isnan(origin):
        return origin + interval_s * np.floor((event_ts - origin) / interval_s + 1e-9)
    if np.isnan(last_ts):
        return event_ts
    return last_ts + np.floor((event_ts - last_ts) / interval_s + 1e-9) * interval_s


@njit(**_JIT)
def _maximum(a, b):
    return a if (a >= b or np.isnan(a)) else b  # np.maximum: NaN propagates


@njit(**_JIT)
def _minimum(a, b):
    return a if (a <= b or np.isnan(a)) else b


@njit(**_JIT)
def clip_order(order, position, max_order, max_position, lot_size):
    """Clip to ±max_order and so that |position + order| stays within max_position (beyond
    it already, only orders back toward it pass), the clipped part rounded toward zero to
    whole lots. NaN limits do not clip."""
    out = order
    if not np.isnan(max_order):
        out = _minimum(_maximum(out, -max_order), max_order)
    if not np.isnan(max_position):
        lo = _minimum(-max_position - position, 0.0)
        hi = _maximum(max_position - position, 0.0)
        out = _minimum(_maximum(out, lo), hi)
    return np.trunc(out / lot_size) * lot_size + 0.0


@njit(**_JIT)
def shrinks(position, order):
    """True when `order` brings |position| closer to 0 without crossing through it."""
    return (order != 0.0 and position != 0.0 and (order > 0.0) != (position > 0.0)
            and abs(order) <= abs(position))


# --- the decision ------------------------------------------------------------------------------


@njit(inline="always", **_JIT)
def decide_at(p, x, i):
    """The decision of element i (column i of x; p the policy), every rail in its place
    (CONTRACT §5):

    off → no spot → halted → system halt → stale → the policy's goal (interval not due /
    inside band) → order in lots → below min_order → a clipped order still pending → position
    beyond max_position (only a reduce-only policy's shrinking order passes) → clip to
    max_order / max_position → below min_order after the clip ("limit" when clipped) →
    reduce-only state → signals/s throttle → notional/min limit (a reduce-only policy's
    shrinking order passes) → signal.

    Returns (reason, order, net, half_width, last_check, wanted, clipped, breach, notional):
    `order` the signed units to send (0 unless SIGNAL), `net` = delta + pending ×
    shares_per_unit and `half_width` (NaN when off or without spot), `last_check` the interval
    schedule after this decision, `wanted` the order before the clip, `notional` its $.
    """
    mode = p[P_MODE]
    last_check = x[X_LAST_CHECK, i]
    net = np.nan
    width = np.nan
    if mode == OFF:
        return R_OFF, 0.0, net, width, last_check, 0.0, False, NO_BREACH, 0.0
    if x[X_VALUED, i] == 0.0:
        return NO_SPOT, 0.0, net, width, last_check, 0.0, False, NO_BREACH, 0.0
    shares_per_unit = p[P_SHARES_PER_UNIT]
    spot = x[X_SPOT, i]
    pending = x[X_PENDING, i]
    net = x[X_DELTA, i] + pending * shares_per_unit
    width = half_width(mode, p[P_BAND], spot, x[X_GAMMA, i], p[P_COST_PER_SHARE],
                       p[P_RISK_AVERSION], p[P_RATE], x[X_TAU, i])
    reason = SIGNAL
    if x[X_HALTED, i] != 0.0:
        reason = HALTED
    elif x[X_SYSTEM_HALT, i] != 0.0:
        reason = SYSTEM_HALT
    elif x[X_STALE, i] != 0.0:
        reason = STALE
    if reason != SIGNAL:
        return reason, 0.0, net, width, last_check, 0.0, False, NO_BREACH, 0.0

    target = x[X_TARGET, i]
    if mode == INTERVAL:
        as_of, interval_s = x[X_AS_OF, i], p[P_INTERVAL_S]
        if not interval_due(as_of, last_check, interval_s):
            return INTERVAL_NOT_DUE, 0.0, net, width, last_check, 0.0, False, NO_BREACH, 0.0
        last_check = interval_slot(as_of, last_check, interval_s, p[P_ORIGIN])
        goal = target
    else:
        goal = band_goal(net, target, width, p[P_TO_EDGE] != 0.0)
        if np.isnan(goal):
            return INSIDE_BAND, 0.0, net, width, last_check, 0.0, False, NO_BREACH, 0.0

    lot_size, min_order = p[P_LOT_SIZE], p[P_MIN_ORDER]
    wanted = order_units(goal, net, shares_per_unit, lot_size)
    if wanted == 0.0 or abs(wanted) < min_order:
        return BELOW_MIN_ORDER, 0.0, net, width, last_check, wanted, False, NO_BREACH, 0.0
    if x[X_CLIP_PENDING, i] != 0.0:
        return CLIP_PENDING, 0.0, net, width, last_check, wanted, False, NO_BREACH, 0.0

    position = x[X_POSITION, i] + pending
    max_position = p[P_MAX_POSITION]
    reduce_only_policy = p[P_REDUCE_ONLY] != 0.0
    breach = NO_BREACH
    if not np.isnan(max_position) and abs(position) > max_position:
        breach = BEYOND_LIMIT
        if not (reduce_only_policy and shrinks(position, wanted)):
            return LIMIT, 0.0, net, width, last_check, wanted, False, breach, 0.0
    order = clip_order(wanted, position, p[P_MAX_ORDER], max_position, lot_size)
    clipped = order != wanted
    if (breach == NO_BREACH and not np.isnan(max_position)
            and abs(position + wanted) > max_position):
        breach = WANTED_BEYOND_LIMIT
    reducing = shrinks(position, order)
    if order == 0.0 or abs(order) < min_order:
        reason = LIMIT if clipped else BELOW_MIN_ORDER
        return reason, 0.0, net, width, last_check, wanted, clipped, breach, 0.0
    if x[X_REDUCE_ONLY, i] != 0.0 and not reducing:
        return REDUCE_ONLY, 0.0, net, width, last_check, wanted, clipped, breach, 0.0
    if x[X_THROTTLED, i] != 0.0:
        return THROTTLED, 0.0, net, width, last_check, wanted, clipped, breach, 0.0
    notional = abs(order) * shares_per_unit * spot
    max_notional = p[P_MAX_NOTIONAL]
    if (not np.isnan(max_notional) and x[X_NOTIONAL_USED, i] + notional > max_notional
            and not (reduce_only_policy and reducing)):
        return NOTIONAL_LIMIT, 0.0, net, width, last_check, wanted, clipped, breach, notional
    return SIGNAL, order, net, width, last_check, wanted, clipped, breach, notional


@njit(**_JIT)
def decide_kernel(p, x, out):
    """`decide_at` for each element i of the packed inputs: p (N_PARAMS,) the policy, spec,
    rate and schedule origin; x (N_INPUTS, n) the figures and rails of element i in column i;
    out (N_OUTPUTS, n) written in place, reason / clipped / breach as floats."""
    for i in range(x.shape[1]):
        r = decide_at(p, x, i)
        out[O_REASON, i] = r[0]
        out[O_ORDER, i] = r[1]
        out[O_NET, i] = r[2]
        out[O_HALF_WIDTH, i] = r[3]
        out[O_LAST_CHECK, i] = r[4]
        out[O_WANTED, i] = r[5]
        out[O_CLIPPED, i] = 1.0 if r[6] else 0.0
        out[O_BREACH, i] = r[7]
        out[O_NOTIONAL, i] = r[8]


__all__ = ["decide_kernel"]
