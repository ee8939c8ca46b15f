"""Immutable risk snapshots in the desk units of CONTRACT §1.

Readers (the API, WebSocket feeds) take a snapshot reference and never lock: the single
writer replaces snapshots, it never mutates one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.domain.units import BASIS_POINT, DAYS_PER_YEAR, RATE_POINT, VOL_POINT
from app.pricing import FloatArray

# raw kernel units -> desk units per option: price, delta, gamma, vega/pt, theta/day, rho/pt
_DESK_SCALE = np.array([1.0, 1.0, 1.0, VOL_POINT, 1.0 / DAYS_PER_YEAR, RATE_POINT])[:, None]

RISK_FIELDS = ("delta", "gamma", "vega", "theta", "rho", "dollar_delta", "dollar_gamma")


@dataclass(frozen=True, slots=True, eq=False)
class OptionRows:
    """Per-option figures of one underlying at one valuation, aligned with `symbols` (N).

    `raw` is (9, N): the pricing core's figures for one option (GREEK_NAMES order, raw units:
    vega per 1.00 vol, theta per year, rho per 1.00); `size` quantity × multiplier; `iv` the
    vol used and `source` where it came from (app.book.vols.SOURCES); `smile_delta` /
    `smile_gamma` per unit with ∂σ/∂S (None: equal to the Black–Scholes ones); `american` the
    rows priced with early exercise and `early_exercise_premium` their price minus the European
    price per unit (None when no row is American)."""

    symbols: tuple[str, ...]
    quantity: FloatArray
    size: FloatArray
    raw: FloatArray
    iv: FloatArray
    source: NDArray[np.int8]
    expiry: FloatArray
    american: NDArray[np.bool_]
    early_exercise_premium: FloatArray | None = None
    smile_delta: FloatArray | None = None
    smile_gamma: FloatArray | None = None

    @property
    def unit(self) -> FloatArray:
        """(6, N) price, delta, gamma, vega, theta, rho of one option in desk units."""
        out: FloatArray = self.raw[:6] * _DESK_SCALE
        return out

    @property
    def position(self) -> FloatArray:
        """(5, N) delta, gamma, vega, theta, rho of each position in desk units
        (Black–Scholes delta and gamma)."""
        out: FloatArray = self.raw[1:6] * _DESK_SCALE[1:] * self.size
        return out


# raw convertible figures -> desk units per bond: price, delta, gamma, vega/pt, theta/day,
# rho/pt, credit spread sensitivity per 1 bp
_BOND_SCALE = np.array([1.0, 1.0, 1.0, VOL_POINT, 1.0 / DAYS_PER_YEAR, RATE_POINT,
                        BASIS_POINT])[:, None]


@dataclass(frozen=True, slots=True, eq=False)
class ConvertibleRows:
    """Per-convertible figures of one underlying at one valuation, aligned with `symbols`.

    `raw` is (11, N) per bond in the pricing core's raw units and FIGURE_NAMES order
    (app.pricing.convertible: price, delta, gamma, vega per 1.00 vol, theta per year, rho per
    1.00, credit_spread_sensitivity per 1.00 of spread, bond_floor, conversion_value,
    conversion_premium, accrued); `quantity` = `size` in bonds; `vol` the vol each was
    valued at; `maturity` epoch s; `stale` the needs_resolve code of each bond whose re-solve
    is still due (0: its solve stands)."""

    symbols: tuple[str, ...]
    quantity: FloatArray
    raw: FloatArray
    vol: FloatArray
    maturity: FloatArray
    stale: NDArray[np.int8]

    @property
    def size(self) -> FloatArray:
        return self.quantity

    @property
    def unit(self) -> FloatArray:
        """(7, N) price, delta, gamma, vega, theta, rho, credit_spread_sensitivity of one
        bond in desk units ($ per vol point, per day, per 1 % of rate, per 1 bp)."""
        out: FloatArray = self.raw[:7] * _BOND_SCALE
        return out

    @property
    def position(self) -> FloatArray:
        """(6, N) delta, gamma, vega, theta, rho, credit_spread_sensitivity of each position
        in desk units."""
        out: FloatArray = self.raw[1:7] * _BOND_SCALE[1:] * self.quantity
        return out


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
    convertibles: ConvertibleRows | None = None
    beta: float = 1.0  # to `benchmark` (the underlying's market parameters)
    benchmark: str | None = None
    benchmark_spot: float | None = None  # the benchmark's spot at this valuation

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

    @property
    def beta_dollar_delta(self) -> float | None:
        """$ of the benchmark: dollar delta × beta."""
        dd = self.dollar_delta
        return None if dd is None else dd * self.beta

    @property
    def benchmark_delta(self) -> float | None:
        """The delta in shares of the benchmark: beta-weighted dollar delta / its spot
        (None without a benchmark that has a spot)."""
        bdd = self.beta_dollar_delta
        if bdd is None or not self.benchmark_spot:
            return None
        return bdd / self.benchmark_spot
