"""The one hedge decision (CONTRACT §5): figures and hedge state as arrays in, an order and a
reason per element out.

The live engine calls it with one element (`Decider.one`, on preallocated buffers), the
backtester with one element per path (`decide`); both run the same numba kernel
(`app.hedging._kernel.decide_kernel`), so a policy cannot decide one way live and another in
a backtest. The function is pure: what the wall clock says (stale, throttled, the notional of
the last minute) and what the engine keeps (pending, a clip pending, halts, reduce-only, the
interval schedule) come in as arrays, and the caller keeps its state from what comes out.

Units: `delta`, `target`, `net`, `half_width` in shares of the underlying (`delta` counts the
hedge position, not what is pending); `hedge_position`, `pending`, orders in units of the hedge
instrument; `spot` and `notional_used` in $; `gamma` in shares per $1; `tau` in years;
`as_of` and `last_check` in epoch seconds (event time).

Reasons not to trade (`Reason`), in the order the decision checks them: off, no_spot, halted,
system_halt, stale, interval_not_due, inside_band, below_min_order, clip_pending, limit,
reduce_only, throttled, notional_limit; `signal` when an order goes out. `netted` is the
shared-instrument netting's, after the decisions (`HedgeEngine.decide_shared`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from app.domain.hedge import HedgeSpec
from app.hedging import _kernel as K
from app.hedging.policy import HedgePolicy, Mode
from app.pricing.arrays import BoolArray, FloatArray, Int8Array

__all__ = [
    "NO_RAILS",
    "Breach",
    "Decider",
    "Decision",
    "OneDecision",
    "Rails",
    "Reason",
    "decide",
    "warm_up",
]


class Reason(IntEnum):
    """Why an element sent an order (SIGNAL) or not; `label` is the policy view's name."""

    SIGNAL = K.SIGNAL
    OFF = K.R_OFF
    NO_SPOT = K.NO_SPOT
    HALTED = K.HALTED
    SYSTEM_HALT = K.SYSTEM_HALT
    STALE = K.STALE
    INTERVAL_NOT_DUE = K.INTERVAL_NOT_DUE
    INSIDE_BAND = K.INSIDE_BAND
    BELOW_MIN_ORDER = K.BELOW_MIN_ORDER
    CLIP_PENDING = K.CLIP_PENDING
    LIMIT = K.LIMIT
    REDUCE_ONLY = K.REDUCE_ONLY
    THROTTLED = K.THROTTLED
    NOTIONAL_LIMIT = K.NOTIONAL_LIMIT
    NETTED = K.NETTED

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = tuple(r.name.lower() for r in sorted(Reason))
_BY_CODE = tuple(sorted(Reason))


class Breach(IntEnum):
    """What a decision found of `max_position`: nothing, a position beyond it already, or a
    wanted (unclipped) order that would take the position beyond it."""

    NONE = K.NO_BREACH
    BEYOND_LIMIT = K.BEYOND_LIMIT
    WANTED_BEYOND_LIMIT = K.WANTED_BEYOND_LIMIT


_BREACH_BY_CODE = tuple(sorted(Breach))


@dataclass(frozen=True, slots=True)
class Rails:
    """The switches and the wall clock, per element (scalars broadcast): `halted` (kill
    switch), `system_halt` (e.g. the outbox is full), `stale` (last tick older than
    `stale_after_s`), `clip_pending` (a clipped order of this underlying is still pending),
    `reduce_only` (a reconciliation difference: only shrinking orders), `throttled`
    (`max_signals_per_s` reached in the last second), `notional_used` ($ signalled in the
    last minute). The default is a backtest's: never halted, stale or throttled, empty
    windows, fills at once."""

    halted: ArrayLike = False
    system_halt: ArrayLike = False
    stale: ArrayLike = False
    clip_pending: ArrayLike = False
    reduce_only: ArrayLike = False
    throttled: ArrayLike = False
    notional_used: ArrayLike = 0.0


NO_RAILS = Rails()


class Decision(NamedTuple):
    """Per element (n,): `orders` signed units to send (0 unless the reason is SIGNAL),
    `reasons` Reason codes, `net` shares (NaN when off or without spot), `half_width` shares
    (NaN likewise), `last_check` the interval schedule after the decision, `wanted` units
    before the clip, `clipped`, `breach` Breach codes, `notional` $ of the order."""

    orders: FloatArray
    reasons: Int8Array
    net: FloatArray
    half_width: FloatArray
    last_check: FloatArray
    wanted: FloatArray
    clipped: BoolArray
    breach: Int8Array
    notional: FloatArray


class OneDecision(NamedTuple):
    """One element's decision (fields as in `Decision`)."""

    reason: Reason
    order: float
    net: float
    half_width: float
    last_check: float
    wanted: float
    clipped: bool
    breach: Breach
    notional: float


_MODE_CODE = {Mode.OFF: K.OFF, Mode.BAND: K.BAND, Mode.INTERVAL: K.INTERVAL,
              Mode.WHALLEY_WILMOTT: K.WHALLEY_WILMOTT}


def _or_nan(x: float | None) -> float:
    return math.nan if x is None else x


def _params(policy: HedgePolicy, spec: HedgeSpec, rate: float,
            schedule_origin: float | None) -> tuple[float, ...]:
    """The kernel's params row (order of the P_* rows)."""
    return (
        _MODE_CODE[policy.mode],
        policy.band,
        1.0 if policy.to_edge else 0.0,
        policy.interval_s,
        policy.min_order,
        _or_nan(policy.max_order),
        _or_nan(policy.max_position),
        policy.cost_per_share,
        policy.risk_aversion,
        _or_nan(policy.max_notional_per_min),
        1.0 if policy.reduce_only else 0.0,
        spec.shares_per_unit,
        spec.lot_size,
        rate,
        _or_nan(schedule_origin),
    )


def decide(
    policy: HedgePolicy,
    spec: HedgeSpec,
    *,
    delta: ArrayLike,
    spot: ArrayLike,
    as_of: ArrayLike,
    hedge_position: ArrayLike = 0.0,
    pending: ArrayLike = 0.0,
    gamma: ArrayLike = 0.0,
    tau: ArrayLike = 0.0,
    target: ArrayLike | None = None,
    last_check: ArrayLike = math.nan,
    valued: ArrayLike = True,
    rails: Rails = NO_RAILS,
    rate: float = 0.0,
    schedule_origin: float | None = None,
) -> Decision:
    """The decision of `policy` (hedging with `spec`) for every element, arrays (n,) or
    scalars broadcast (units in the module docstring).

    `target` the target delta (default the policy's; the backtester's portfolio insurance
    moves it per path), `last_check` the interval schedule (NaN: never checked), `valued`
    false where the underlying has no spot yet, `rate` for Whalley–Wilmott's discount.
    Interval slots are anchored at `schedule_origin` when given (exactly one slot per
    `interval_s` of event time: the backtester's grid), else at the first check's event time
    and advanced by whole intervals (the live rule).
    """
    columns: tuple[ArrayLike, ...] = (
        valued, delta, pending, hedge_position, spot, gamma, tau, as_of,
        policy.target_delta if target is None else target, last_check,
        rails.halted, rails.system_halt, rails.stale, rails.clip_pending, rails.reduce_only,
        rails.throttled, rails.notional_used,
    )
    shape = np.broadcast_shapes(*(np.shape(c) for c in columns))
    if len(shape) > 1:
        raise ValueError(f"decide takes 1-D arrays of elements, not shape {shape}")
    n = shape[0] if shape else 1
    x = np.empty((K.N_INPUTS, n))
    for row, column in enumerate(columns):
        x[row] = column
    out = np.empty((K.N_OUTPUTS, n))
    K.decide_kernel(np.array(_params(policy, spec, rate, schedule_origin)), x, out)
    return Decision(
        orders=out[K.O_ORDER],
        reasons=out[K.O_REASON].astype(np.int8),
        net=out[K.O_NET],
        half_width=out[K.O_HALF_WIDTH],
        last_check=out[K.O_LAST_CHECK],
        wanted=out[K.O_WANTED],
        clipped=out[K.O_CLIPPED] != 0.0,
        breach=out[K.O_BREACH].astype(np.int8),
        notional=out[K.O_NOTIONAL],
    )


class Decider:
    """`decide` for one element at a time — the live engine's call on every recompute — through
    the same kernel with n = 1, on buffers allocated once (no array is built per call)."""

    __slots__ = ("_key", "_max_order_units", "_out", "_p", "_x")

    def __init__(self, max_order_units: float = math.inf) -> None:
        """`max_order_units`: the service's cap on any order (HEDGE_MAX_QUANTITY), applied
        under each policy's own `max_order` — a book however large never sends a larger one."""
        self._max_order_units = max_order_units
        self._p = np.empty(K.N_PARAMS)
        self._x = np.empty((K.N_INPUTS, 1))
        self._out = np.empty((K.N_OUTPUTS, 1))
        self._key: tuple[HedgePolicy, HedgeSpec, float] | None = None

    def one(
        self,
        policy: HedgePolicy,
        spec: HedgeSpec,
        rate: float,
        *,
        valued: bool,
        delta: float,
        spot: float,
        as_of: float,
        hedge_position: float,
        pending: float,
        gamma: float,
        tau: float,
        last_check: float,
        halted: bool,
        system_halt: bool,
        stale: bool,
        clip_pending: bool,
        reduce_only: bool,
        throttled: bool,
        notional_used: float,
    ) -> OneDecision:
        """The live rule (slots anchored at the first check); arguments as in `decide` and
        `Rails`, NaN for a figure the underlying does not have yet."""
        key = self._key
        if key is None or key[0] is not policy or key[1] is not spec or key[2] != rate:
            self._p[:] = _params(policy, spec, rate, None)
            cap, own = self._max_order_units, self._p[K.P_MAX_ORDER]
            if math.isfinite(cap):
                self._p[K.P_MAX_ORDER] = cap if math.isnan(own) else min(own, cap)
            self._key = (policy, spec, rate)
        self._x[:, 0] = (valued, delta, pending, hedge_position, spot, gamma, tau, as_of,
                         policy.target_delta, last_check, halted, system_halt, stale,
                         clip_pending, reduce_only, throttled, notional_used)
        K.decide_kernel(self._p, self._x, self._out)
        o = self._out[:, 0].tolist()
        return OneDecision(
            _BY_CODE[int(o[K.O_REASON])], o[K.O_ORDER], o[K.O_NET], o[K.O_HALF_WIDTH],
            o[K.O_LAST_CHECK], o[K.O_WANTED], o[K.O_CLIPPED] != 0.0,
            _BREACH_BY_CODE[int(o[K.O_BREACH])], o[K.O_NOTIONAL],
        )


def warm_up() -> None:
    """Compile (or load from numba's cache) the kernel now, never on the first tick."""
    decide(HedgePolicy(mode=Mode.BAND), HedgeSpec("WARM"), delta=0.0, spot=1.0, as_of=0.0)
