"""The options of one underlying as a struct of arrays.

A tick on the underlying recomputes exactly this group with one vectorized kernel call into
preallocated arrays; adding a position appends a row (amortized growth), it never rebuilds.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from app.book.risk import OptionRows
from app.domain import Instrument
from app.domain.units import DAYS_PER_YEAR, RATE_POINT, SECONDS_PER_YEAR, VOL_POINT
from app.pricing import greeks_into

_PRICE, _DELTA, _GAMMA, _VEGA, _THETA, _RHO = range(6)
# raw kernel units -> desk units per option: price, delta, gamma, vega/pt, theta/day, rho/pt
_DESK_SCALE = np.array([1.0, 1.0, 1.0, VOL_POINT, 1.0 / DAYS_PER_YEAR, RATE_POINT])[:, None]


class OptionGroup:
    """Options on one underlying. Rows: one per option symbol; quantities may be 0."""

    __slots__ = (
        "_out",
        "expiry",
        "index",
        "is_call",
        "iv",
        "multiplier",
        "n",
        "quantity",
        "strike",
        "symbols",
    )

    def __init__(self, capacity: int = 16) -> None:
        self.n = 0
        self.symbols: list[str] = []
        self.index: dict[str, int] = {}
        self.is_call = np.zeros(capacity, dtype=np.bool_)
        self.strike = np.zeros(capacity)
        self.expiry = np.zeros(capacity)
        self.multiplier = np.zeros(capacity)
        self.quantity = np.zeros(capacity)
        self.iv = np.full(capacity, np.nan)  # NaN: the underlying's flat vol
        self._out = np.zeros((9, capacity))

    def _grow(self) -> None:
        cap = max(16, 2 * len(self.strike))
        for name in ("is_call", "strike", "expiry", "multiplier", "quantity"):
            old = getattr(self, name)
            new = np.zeros(cap, dtype=old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)
        iv = np.full(cap, np.nan)
        iv[: self.n] = self.iv[: self.n]
        self.iv = iv
        self._out = np.zeros((9, cap))

    def row(self, inst: Instrument) -> int:
        """The row of an option, appended when new."""
        i = self.index.get(inst.symbol)
        if i is not None:
            return i
        if self.n == len(self.strike):
            self._grow()
        i = self.n
        self.symbols.append(inst.symbol)
        self.index[inst.symbol] = i
        self.is_call[i] = inst.is_call
        self.strike[i] = inst.strike
        self.expiry[i] = inst.expiry
        self.multiplier[i] = inst.multiplier
        self.quantity[i] = 0.0
        self.iv[i] = np.nan
        self.n += 1
        return i

    def recompute(
        self, spot: float, as_of: float, vol: float, rate: float, div_yield: float, black76: bool
    ) -> tuple[NDArray[np.float64], OptionRows, float]:
        """Value every row at `as_of` (epoch s).

        Returns (totals, rows, gamma_tau): totals is (5,) delta, gamma, vega, theta, rho of the
        whole group in desk units; gamma_tau the |gamma|-weighted time to expiry in years."""
        n = self.n
        t = np.maximum(self.expiry[:n] - as_of, 0.0) / SECONDS_PER_YEAR
        iv = self.iv[:n]
        vols = np.where(np.isnan(iv), vol, iv)
        out = self._out
        if out.shape[1] != n:
            # exactly (9, n): a column slice of a wider buffer is not C-contiguous, and
            # greeks_into then runs numba's non-vectorized any-layout loop, ~7x slower
            out = self._out = np.zeros((9, n))
        greeks_into(self.is_call[:n], spot, self.strike[:n], t, vols, rate, div_yield, black76, out)
        unit = out[:6] * _DESK_SCALE
        size = self.quantity[:n] * self.multiplier[:n]
        position = unit[1:] * size
        totals = position.sum(axis=1)
        abs_gamma = np.abs(position[1])
        g = abs_gamma.sum()
        gamma_tau = float(abs_gamma @ t / g) if g > 0 else 0.0
        rows = OptionRows(
            symbols=tuple(self.symbols),
            quantity=self.quantity[:n].copy(),
            iv=vols,
            unit=unit,
            position=position,
        )
        return totals, rows, gamma_tau
