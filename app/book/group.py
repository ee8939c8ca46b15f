"""The options of one underlying as a struct of arrays.

A tick on the underlying recomputes exactly this group: the vols (`app.book.vols`), one
vectorized pricing call into a preallocated buffer (`app.book.pricer`), and the totals as one
matrix product. Adding a position appends a row (amortized growth), it never rebuilds.
"""

from __future__ import annotations

import numpy as np

from app.book.market import UnderlyingMarket
from app.book.pricer import OptionPricer
from app.book.risk import OptionRows
from app.book.vols import StickyCache, option_vols
from app.domain import Instrument
from app.domain.units import DAYS_PER_YEAR, RATE_POINT, SECONDS_PER_YEAR, VOL_POINT
from app.pricing import FloatArray

# raw kernel rows delta, gamma, vega, theta, rho -> desk units (per vol point, per day, per 1 %)
_DESK_TOTALS = np.array([1.0, 1.0, VOL_POINT, 1.0 / DAYS_PER_YEAR, RATE_POINT])
_ARRAYS = ("is_call", "strike", "expiry", "multiplier", "quantity", "iv", "iv_ts", "american")


class OptionGroup:
    """Options on one underlying. Rows: one per option symbol; quantities may be 0.
    `iv` / `iv_ts`: the option's own quoted vol and its event time (NaN: none); `american`:
    the row is priced with early exercise (its style, or its underlying's `option_style`)."""

    __slots__ = (*_ARRAYS, "_out", "index", "n", "pricer", "sticky", "styles", "symbols")

    def __init__(self, capacity: int = 16) -> None:
        self.n = 0
        self.symbols: list[str] = []
        self.styles: list[str | None] = []  # each row's own style (None: the underlying's)
        self.index: dict[str, int] = {}
        self.is_call = np.zeros(capacity, dtype=np.bool_)
        self.strike = np.zeros(capacity)
        self.expiry = np.zeros(capacity)
        self.multiplier = np.zeros(capacity)
        self.quantity = np.zeros(capacity)
        self.iv = np.full(capacity, np.nan)
        self.iv_ts = np.full(capacity, np.nan)
        self.american = np.zeros(capacity, dtype=np.bool_)
        self._out = np.zeros((9, capacity))
        self.sticky = StickyCache()
        self.pricer = OptionPricer()

    def _grow(self) -> None:
        cap = max(16, 2 * len(self.strike))
        for name in _ARRAYS:
            old = getattr(self, name)
            new = np.full(cap, np.nan) if name in ("iv", "iv_ts") else np.zeros(cap, old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)
        self._out = np.zeros((9, cap))

    def row(self, inst: Instrument, option_style: str = "european") -> int:
        """The row of an option, appended when new."""
        i = self.index.get(inst.symbol)
        if i is not None:
            return i
        if self.n == len(self.strike):
            self._grow()
        i = self.n
        self.symbols.append(inst.symbol)
        self.styles.append(inst.style)
        self.index[inst.symbol] = i
        self.is_call[i] = inst.is_call
        self.strike[i] = inst.strike
        self.expiry[i] = inst.expiry
        self.multiplier[i] = inst.multiplier
        self.quantity[i] = 0.0
        self.iv[i] = np.nan
        self.iv_ts[i] = np.nan
        self.american[i] = (inst.style or option_style) == "american"
        self.n += 1
        return i

    def restyle(self, option_style: str) -> bool:
        """Apply the underlying's `option_style` to rows without a style of their own;
        True when any row changed."""
        n = self.n
        want = np.array([(s or option_style) == "american" for s in self.styles], dtype=bool)
        changed = bool(np.any(want != self.american[:n]))
        self.american[:n] = want
        return changed

    def revalue(self, spot: float, as_of: float, market: UnderlyingMarket, *,
                vol_shift: float = 0.0, vol_scale: float = 1.0, rate_shift: float = 0.0,
                vols: FloatArray | None = None) -> tuple[FloatArray, FloatArray]:
        """Full revaluation of every row at `spot` and `as_of` under a shock — the same
        pricing as `recompute` (quotes, surface and its stickiness, American rows) — without
        touching the group's state. The vols are the ones in force at that spot (or `vols`,
        one per row), then × `vol_scale` + `vol_shift` (floored at 1e-4); the rate moves by
        `rate_shift`. Returns (figures (9, N) per unit in raw units, the vols used (N))."""
        n = self.n
        expiry = self.expiry[:n]
        t = np.maximum(expiry - as_of, 0.0) / SECONDS_PER_YEAR
        if vols is None:
            vols = option_vols(self.iv[:n], self.iv_ts[:n], market.vol, market.surface,
                               self.sticky, self.strike[:n], expiry, spot, as_of, market.rate,
                               market.div_yield, market.is_future).vol
        if vol_scale != 1.0 or vol_shift != 0.0:
            vols = np.maximum(vols * vol_scale + vol_shift, 1e-4)
        out = np.zeros((9, n))
        self.pricer.price(self, spot, t, vols, market, out, rate_shift=rate_shift, scratch=True)
        return out, vols

    def recompute(self, spot: float, as_of: float,
                  market: UnderlyingMarket) -> tuple[FloatArray, OptionRows, float]:
        """Value every row at `as_of` (epoch s) and `spot`.

        Returns (totals, rows, gamma_tau): totals is (5,) delta, gamma, vega, theta, rho of the
        whole group in desk units (delta and gamma smile-adjusted: they follow the surface's
        stickiness); gamma_tau the |gamma|-weighted time to expiry in years."""
        n = self.n
        expiry = self.expiry[:n]
        t = np.maximum(expiry - as_of, 0.0) / SECONDS_PER_YEAR
        black76 = market.is_future
        vols = option_vols(self.iv[:n], self.iv_ts[:n], market.vol, market.surface,
                           self.sticky, self.strike[:n], expiry, spot, as_of, market.rate,
                           market.div_yield, black76)
        out = self._out
        if out.shape[1] != n:
            # exactly (9, n): a column slice of a wider buffer is not C-contiguous, and the
            # kernel then runs numba's non-vectorized any-layout loop, ~7x slower
            out = self._out = np.zeros((9, n))
        eep = self.pricer.price(self, spot, t, vols.vol, market, out)
        size = self.quantity[:n] * self.multiplier[:n]
        if vols.dvol_dspot is None:
            delta, gamma = out[1], out[2]
            smile_delta = smile_gamma = None
        else:
            s1, s2 = vols.dvol_dspot, vols.d2vol_dspot2
            assert s2 is not None
            smile_delta = out[1] + out[3] * s1
            smile_gamma = out[2] + 2.0 * out[6] * s1 + out[7] * s1 * s1 + out[3] * s2
            delta, gamma = smile_delta, smile_gamma
        totals = np.array([delta @ size, gamma @ size, out[3] @ size, out[4] @ size,
                           out[5] @ size]) * _DESK_TOTALS
        abs_gamma = np.abs(gamma * size)
        g = abs_gamma.sum()
        gamma_tau = float(abs_gamma @ t / g) if g > 0 else 0.0
        rows = OptionRows(
            symbols=tuple(self.symbols),
            quantity=self.quantity[:n].copy(),
            size=size,
            raw=out.copy(),
            iv=vols.vol,
            source=vols.source,
            expiry=expiry.copy(),
            american=self.american[:n].copy(),
            early_exercise_premium=eep,
            smile_delta=smile_delta,
            smile_gamma=smile_gamma,
        )
        return totals, rows, gamma_tau
