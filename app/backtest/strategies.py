"""Hedging strategies: policies of the live engine, or named baselines, from their spellings.

- `none`: no hedge (policy mode `off`).
- `static`: delta-hedge once at the start, never again (`interval` once over the life).
- `interval:N`: `interval` policy with interval_s = life / N: N rebalances at evenly spaced
  times, the one at the start counted as the first.
- `band:X`, `band:X:edge`: `band` policy, half-width X shares, back to the target (or to the
  nearer edge).
- `whalley_wilmott:G`, `whalley_wilmott:G:C`: `whalley_wilmott` policy, risk aversion G per $,
  proportional cost C $ per share (default: the cost model's per-share fee plus half-spread at
  the start spot; the policy default 0.01 when those are 0).
- `portfolio_insurance[:F][@RULE]`: baseline, a synthetic protective put with floor F × start
  spot (default 0.95) on the book's stock: the target delta is stock × (1 + put delta),
  rebalanced by RULE (any spelling above; default a daily `interval`).
- `S+tail[:M[:N]]`: overlay on any S: at the start, buy N puts (default: enough to cover the
  book's start delta) struck at M × spot (default 0.9), expiring at the end, and hold them.

The rebalancing decision is `hedge_orders`, built only from the rule functions the live engine
uses (`app.hedging.rules`), so a policy decides the same way live and here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from app.backtest.costs import CostModel
from app.domain.units import SECONDS_PER_DAY
from app.errors import InvalidInput
from app.hedging.policy import HedgePolicy, HedgeSpec, Mode, RebalanceTo
from app.hedging.rules import (
    band_goal,
    clip_order,
    interval_due,
    interval_slot,
    order_units,
    whalley_wilmott_half_width,
)
from app.pricing.arrays import FloatArray


@dataclass(frozen=True, slots=True)
class Strategy:
    """One strategy: the live `policy` it runs, and what a baseline or overlay adds.

    `insurance_floor`: portfolio insurance floor as a fraction of the start spot (None: not
    insurance). `tail_moneyness` / `tail_contracts`: the put overlay (None: no overlay;
    contracts None: sized to the book's start delta). `interval_count`: N of `interval:N`.
    """

    name: str
    policy: HedgePolicy
    insurance_floor: float | None = None
    tail_moneyness: float | None = None
    tail_contracts: float | None = None
    interval_count: int | None = None

    @property
    def has_tail(self) -> bool:
        return self.tail_moneyness is not None


def _float(text: str, what: str, spelling: str, positive: bool = True) -> float:
    try:
        x = float(text)
    except ValueError:
        raise InvalidInput("strategy", f"{spelling!r}: {what} must be a number") from None
    if not math.isfinite(x) or (positive and x <= 0) or x < 0:
        raise InvalidInput("strategy", f"{spelling!r}: {what} must be a finite number > 0")
    return x


def _base_policy(
    spelling: str, full: str, life_s: float, costs: CostModel, spot: float
) -> tuple[HedgePolicy, int | None]:
    head, _, rest = spelling.partition(":")
    args = rest.split(":") if rest else []
    if head == "none" and not args:
        return HedgePolicy(mode=Mode.OFF), None
    if head == "static" and not args:
        return HedgePolicy(mode=Mode.INTERVAL, interval_s=life_s), 1
    if head == "interval" and len(args) == 1:
        n = _float(args[0], "N", full)
        if n != int(n):
            raise InvalidInput("strategy", f"{full!r}: N must be a whole number")
        return HedgePolicy(mode=Mode.INTERVAL, interval_s=life_s / n), int(n)
    if head == "band" and len(args) in (1, 2):
        to = RebalanceTo.TARGET
        if len(args) == 2:
            if args[1] not in ("edge", "target"):
                raise InvalidInput("strategy", f"{full!r}: band rebalances to edge or target")
            to = RebalanceTo(args[1])
        return HedgePolicy(mode=Mode.BAND, band=_float(args[0], "X", full, positive=False),
                           rebalance_to=to), None
    if head == "whalley_wilmott" and len(args) in (1, 2):
        gamma = _float(args[0], "risk aversion", full)
        if len(args) == 2:
            cps = _float(args[1], "cost per share", full)
        else:
            cps = costs.proportional_per_share(spot) or HedgePolicy().cost_per_share
        return HedgePolicy(mode=Mode.WHALLEY_WILMOTT, risk_aversion=gamma, cost_per_share=cps,
                           rebalance_to=RebalanceTo.EDGE), None
    raise InvalidInput(
        "strategy",
        f"{full!r}: expected none, static, interval:N, band:X[:edge], whalley_wilmott:G[:C], "
        "portfolio_insurance[:F][@RULE], optionally followed by +tail[:M[:N]]",
    )


def parse_strategy(spelling: str, life_s: float, costs: CostModel, spot: float) -> Strategy:
    """The strategy a command-line spelling names (see the module table); `life_s` the book's
    life in seconds, `spot` the start spot in $. Raises InvalidInput(field='strategy')."""
    text = spelling.strip()
    base, *overlays = text.split("+")
    tail_m: float | None = None
    tail_n: float | None = None
    for overlay in overlays:
        head, _, rest = overlay.partition(":")
        args = rest.split(":") if rest else []
        if head != "tail" or len(args) > 2:
            raise InvalidInput("strategy", f"{text!r}: the only overlay is +tail[:M[:N]]")
        tail_m = _float(args[0], "tail moneyness M", text) if args else 0.9
        tail_n = _float(args[1], "tail contracts N", text) if len(args) == 2 else None
    floor: float | None = None
    count: int | None = None
    if base.startswith("portfolio_insurance"):
        head, _, rule = base.partition("@")
        _, _, floor_text = head.partition(":")
        floor = _float(floor_text, "floor F", text) if floor_text else 0.95
        if rule:
            policy, count = _base_policy(rule, text, life_s, costs, spot)
        else:
            policy = HedgePolicy(mode=Mode.INTERVAL, interval_s=min(SECONDS_PER_DAY, life_s))
    else:
        policy, count = _base_policy(base, text, life_s, costs, spot)
    return Strategy(text, policy, floor, tail_m, tail_n, count)


def with_min_order(strategy: Strategy, min_order: float) -> Strategy:
    return replace(strategy, policy=replace(strategy.policy, min_order=min_order))


def hedge_orders(
    policy: HedgePolicy,
    spec: HedgeSpec,
    net: FloatArray,
    position: FloatArray,
    spot: FloatArray,
    gamma: FloatArray,
    event_ts: float,
    last_ts: FloatArray,
    target: FloatArray | float | None = None,
    rate: float = 0.0,
    tau: FloatArray | float = 0.0,
    schedule_origin: float | None = None,
) -> tuple[FloatArray, FloatArray]:
    """One hedge decision of `policy` for many paths at once (CONTRACT §5), all arrays (n,):

    `net` the book's net delta in shares (hedge position and pending included), `position` the
    hedge position in units, `spot` $, `gamma` the book's gamma in shares per $1, `event_ts`
    epoch s, `last_ts` the last interval rebalance (NaN: never), `target` the target delta in
    shares (default the policy's), `tau` the gamma-weighted time to expiry in years.

    Returns (signed orders in units of the hedge instrument, new last_ts). Interval slots are
    anchored at `schedule_origin` when given (exactly one slot per interval_s of event time),
    else at the event time of the rebalance.
    """
    n = net.shape[0]
    goal_target = policy.target_delta if target is None else target
    if policy.mode is Mode.OFF:
        return np.zeros(n), last_ts
    if policy.mode is Mode.BAND:
        goal = band_goal(net, goal_target, policy.band, policy.to_edge)
    elif policy.mode is Mode.WHALLEY_WILMOTT:
        half = whalley_wilmott_half_width(spot, gamma, policy.cost_per_share,
                                          policy.risk_aversion, rate, tau)
        half = np.where(half > 0, half, policy.band)
        goal = band_goal(net, goal_target, half, policy.to_edge)
    else:  # interval
        due = interval_due(event_ts, last_ts, policy.interval_s)
        goal = np.where(due, goal_target, np.nan)
        slot: float | FloatArray
        if schedule_origin is None:
            slot = interval_slot(event_ts, last_ts, policy.interval_s)
        else:
            slot = schedule_origin + policy.interval_s * math.floor(
                (event_ts - schedule_origin) / policy.interval_s + 1e-9)
        last_ts = np.where(due, slot, last_ts)
    order = order_units(goal, net, spec.shares_per_unit, spec.lot_size)
    order = clip_order(order, position, policy.max_order, policy.max_position, spec.lot_size)
    return np.where(np.abs(order) >= policy.min_order, order, 0.0), last_ts
