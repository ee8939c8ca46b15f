"""What a hedge trade costs, in $, vectorized.

For a trade of q shares of the underlying (|q| > 0) at price S:

    cost = commission                               ($ per trade)
         + per_share · |q|                          ($ per share)
         + spread_bps · 1e-4 · S · |q|              (half-spread crossed, in bps of the price)
         + impact · σ_day · S · |q| · √(|q| / adv)  (square-root market impact)

σ_day = vol / √252 is the daily vol, `adv` the average daily volume in shares, `impact` the
dimensionless square-root-law coefficient (≈ 0.5–1 in the literature).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from app.pricing.arrays import FloatArray


@dataclass(frozen=True, slots=True)
class CostModel:
    commission: float = 50.0
    per_share: float = 0.0
    spread_bps: float = 0.0
    impact: float = 0.0
    adv: float = 1_000_000.0

    def trade_cost(self, shares: ArrayLike, spot: ArrayLike, vol: float) -> FloatArray:
        """$ cost of trading `shares` (signed; 0 = no trade) at `spot`; broadcasts."""
        q = np.abs(np.asarray(shares, dtype=np.float64))
        spot = np.asarray(spot, dtype=np.float64)
        traded = q > 0
        cost = np.where(traded, self.commission, 0.0)
        if self.per_share:
            cost = cost + self.per_share * q
        if self.spread_bps:
            cost = cost + self.spread_bps * 1e-4 * q * spot
        if self.impact:
            daily = vol / math.sqrt(252.0)
            cost = cost + self.impact * daily * q * np.sqrt(q / self.adv) * spot
        return cost

    def proportional_per_share(self, spot: float) -> float:
        """$ per share that scales with size (per-share fee plus half-spread) at `spot`: the
        proportional cost the Whalley–Wilmott band is built on."""
        return self.per_share + self.spread_bps * 1e-4 * spot

    def as_dict(self) -> dict[str, float]:
        return {"commission": self.commission, "per_share": self.per_share,
                "spread_bps": self.spread_bps, "impact": self.impact, "adv": self.adv}
