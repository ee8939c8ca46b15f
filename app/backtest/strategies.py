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

Every strategy rebalances through the one hedge decision the live engine makes
(`app.hedging.decide`), so a policy decides the same way live and here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from app.backtest.costs import CostModel
from app.domain.units import SECONDS_PER_DAY
from app.errors import InvalidInput
from app.hedging.policy import HedgePolicy, Mode, RebalanceTo


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

