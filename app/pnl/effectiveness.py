"""Hedge effectiveness: how much of the options' P&L variance the hedge removed, and at what
cost. P&L is taken per interval of event time (1-minute buckets by default): the standard
deviation of the options' P&L per interval, of options plus hedge, and their ratio (0: a
perfect hedge, 1: no better than none); the hedge trades' count and cost; the cost per unit of
variance removed ($ per $² of variance per interval)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Moments:
    """Running mean and variance (Welford)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        d = x - self.mean
        self.mean += d / self.n
        self.m2 += d * (x - self.mean)

    @property
    def variance(self) -> float | None:
        return self.m2 / (self.n - 1) if self.n > 1 else None


@dataclass(slots=True)
class Effectiveness:
    bucket_s: float = 60.0
    options: _Moments = field(default_factory=_Moments)
    hedged: _Moments = field(default_factory=_Moments)
    bucket: int | None = None
    options_at_start: float = 0.0
    hedged_at_start: float = 0.0
    last_options: float = 0.0
    last_hedged: float = 0.0
    trades: int = 0
    cost: float = 0.0

    def observe(self, t: float, options_pnl: float, hedged_pnl: float) -> None:
        """The day's cumulative P&L of the options, and of options plus hedge, at event time
        `t`: a bucket closes when `t` enters the next one."""
        b = math.floor(t / self.bucket_s)
        if self.bucket is None:
            self.bucket = b
            self.options_at_start, self.hedged_at_start = options_pnl, hedged_pnl
        elif b != self.bucket:
            self.options.add(self.last_options - self.options_at_start)
            self.hedged.add(self.last_hedged - self.hedged_at_start)
            self.bucket = b
            self.options_at_start, self.hedged_at_start = self.last_options, self.last_hedged
        self.last_options, self.last_hedged = options_pnl, hedged_pnl

    def hedge_trade(self, cost: float) -> None:
        """A hedge fill and what it cost ($: fees and slippage paid, positive)."""
        self.trades += 1
        self.cost += cost

    def figures(self) -> dict[str, float | int | None]:
        v_opt, v_all = self.options.variance, self.hedged.variance
        std_opt = None if v_opt is None else math.sqrt(v_opt)
        std_all = None if v_all is None else math.sqrt(v_all)
        ratio = None if not std_opt or std_all is None else std_all / std_opt
        removed = None if v_opt is None or v_all is None else v_opt - v_all
        per_var = self.cost / removed if removed is not None and removed > 0 else None
        return {"intervals": self.options.n, "bucket_s": self.bucket_s,
                "options_std": std_opt, "hedged_std": std_all, "ratio": ratio,
                "hedge_trades": self.trades, "hedge_cost": self.cost,
                "cost_per_variance_removed": per_var}
