"""Immutable risk snapshots in the desk units of CONTRACT §1.

Readers (the API, WebSocket feeds) take a snapshot reference and never lock: the single
writer replaces snapshots, it never mutates one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

RISK_FIELDS = ("delta", "gamma", "vega", "theta", "rho", "dollar_delta", "dollar_gamma")


@dataclass(frozen=True, slots=True)
class OptionRows:
    """Per-option figures of one underlying at one valuation, aligned with `symbols`.

    `unit` is (6, N): price, delta, gamma, vega, theta, rho for one option (multiplier 1) in
    desk units; `position` is (5, N): delta, gamma, vega, theta, rho of the position."""

    symbols: tuple[str, ...]
    quantity: NDArray[np.float64]
    iv: NDArray[np.float64]
    unit: NDArray[np.float64]
    position: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class UnderlyingRisk:
    """Figures of one underlying: shares, $ and days as in CONTRACT §1; `hedge_position` and
    `pending` in units of the hedge instrument. Greeks are None until the underlying has a spot."""

    underlying: str
    spot: float | None
    as_of: float | None
    delta: float | None
    gamma: float | None
    vega: float | None
    theta: float | None
    rho: float | None
    hedge_position: float
    pending: float
    gamma_tau: float  # gamma-weighted time to expiry, years (Whalley–Wilmott's τ)
    options: OptionRows | None = None
    linear: tuple[tuple[str, float, float], ...] = ()  # (symbol, quantity, delta in shares)
    unpriced: str | None = None  # why the figures are None: "no market parameters", "no spot"

    @property
    def valued(self) -> bool:
        return self.spot is not None and self.delta is not None

    @property
    def dollar_delta(self) -> float | None:
        if self.delta is None or self.spot is None:
            return None
        return self.delta * self.spot

    @property
    def dollar_gamma(self) -> float | None:
        if self.gamma is None or self.spot is None:
            return None
        return self.gamma * self.spot * self.spot * 0.01
