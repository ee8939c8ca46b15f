"""The convertible bonds of one underlying, valued beside its options (issue 16).

The Tsiveriotis–Fernandes solve (`app.pricing.convertible`) is kept and reused: a solve
holds each bond's value and figures on a grid in the stock price at one valuation time and
market, so a tick only interpolates it at the new spot (`revalue_into`, microseconds for 100
bonds). A bond is re-solved when `needs_resolve` says its solve no longer stands (time, an
event passed, the spot left the grid's band — within the pricer's tolerances), or at once
when the market the solve used changes (vol, rate, dividend yield, cash dividends: commands,
not ticks). A bond added to the group (a fill) is solved alone and appended; a new load
builds a new group.

Re-solves prompted by ticks are bounded: at most `inline` bonds per recompute (the stalest
first: an event passed, then the spot band, then drift), the rest are left flagged for
`upkeep`, which the service runs off the tick path (when no underlying waits for a
recompute), a few bonds at a time. A tick therefore never redoes the solve of a book.

Times: the terms are dates (epoch s, `ConvertibleSpec`); a solve turns them into years from
its valuation time (`terms_at`). Vol: the underlying's flat `vol`. Dividends: the
underlying's continuous `div_yield`, and its cash dividends when its market carries them
(`dividends`: (ex time epoch s, $ per share) pairs, or objects with `ex_ts`/`ex_date` and
`amount`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from app.book.market import UnderlyingMarket
from app.book.risk import ConvertibleRows
from app.domain import ConvertibleSpec, Instrument
from app.domain.units import DAYS_PER_YEAR, RATE_POINT, SECONDS_PER_YEAR, VOL_POINT
from app.pricing import FloatArray
from app.pricing.convertible import (
    EVENT_PASSED,
    FIGURE_NAMES,
    SPOT_OUTSIDE_BAND,
    ConvertibleState,
    ConvertibleTerms,
    extend_bonds,
    needs_resolve_into,
    pack,
    replace_bonds,
    revalue_into,
    solve,
)

ROWS = len(FIGURE_NAMES)
_DESK = np.array([1.0, 1.0, VOL_POINT, 1.0 / DAYS_PER_YEAR, RATE_POINT])  # delta .. rho
_F64 = np.float64


def terms_at(spec: ConvertibleSpec, as_of: float) -> ConvertibleTerms:
    """The pricer's terms of a bond valued at `as_of` (epoch s): every date in years from
    it. Coupons fall every 1/frequency years back from maturity (the pricer's default)."""

    def years(ts: float) -> float:
        return (ts - as_of) / SECONDS_PER_YEAR

    return ConvertibleTerms(
        conversion_ratio=spec.conversion_ratio, maturity=years(spec.maturity), face=spec.face,
        coupon_rate=spec.coupon_rate, coupon_frequency=spec.coupon_frequency,
        credit_spread=spec.credit_spread,
        call_schedule=tuple((years(a), years(b), price, trigger)
                            for a, b, price, trigger in spec.call_schedule),
        put_schedule=tuple((years(d), price) for d, price in spec.put_schedule))


def cash_dividends(market: UnderlyingMarket) -> tuple[tuple[float, float], ...]:
    """The underlying's cash dividends as (ex time epoch s, amount), sorted; () when its
    market carries none."""
    raw: Sequence[Any] = getattr(market, "dividends", None) or ()
    out = []
    for d in raw:
        if isinstance(d, tuple | list):
            ts, amount = d[0], d[1]
        else:
            ts = getattr(d, "ex_ts", None)
            ts = getattr(d, "ex_date", None) if ts is None else ts
            amount = d.amount
        out.append((float(ts), float(amount)))
    return tuple(sorted(out))


def _years(divs: tuple[tuple[float, float], ...], as_of: float) -> tuple[tuple[float, float], ...]:
    return tuple(((ts - as_of) / SECONDS_PER_YEAR, amount) for ts, amount in divs)


class ConvertibleGroup:
    """The convertibles on one underlying. Rows: one per bond symbol (quantities may be 0)."""

    __slots__ = ("_key", "_names", "_out", "_solved_at", "_solved_rows", "index", "inline",
                 "maturity", "quantity", "specs", "spread", "stale", "state", "symbols")

    def __init__(self, inline: int = 1) -> None:
        self.symbols: list[str] = []
        self.specs: list[ConvertibleSpec] = []
        self.index: dict[str, int] = {}
        self.quantity = np.zeros(0)
        self.spread = np.zeros(0)
        self.maturity = np.zeros(0)
        self.inline = inline  # bonds a recompute may re-solve when only ticks made them stale
        self.state: ConvertibleState | None = None
        self.stale = np.zeros(0, dtype=np.int8)  # per bond: why its re-solve is due (0: none)
        self._solved_at = np.zeros(0)  # epoch s of each bond's solve
        self._solved_rows = -1  # the row count the state was solved for
        self._key: tuple[Any, ...] | None = None  # the market of the solve
        self._out = np.zeros((ROWS, 0))
        self._names: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        return len(self.symbols)

    def set_quantity(self, inst: Instrument, quantity: float) -> int:
        """Set a bond's quantity (its row appended when new); returns the row."""
        i = self.row(inst)
        self.quantity[i] = quantity
        return i

    def row(self, inst: Instrument) -> int:
        """The row of a convertible, appended when new (the next valuation re-solves). A new
        row grows the arrays: take `quantity` after the call."""
        i = self.index.get(inst.symbol)
        if i is not None:
            return i
        assert inst.convertible is not None
        spec = inst.convertible
        i = self.index[inst.symbol] = len(self.symbols)
        self.symbols.append(inst.symbol)
        self.specs.append(spec)
        self.quantity = np.append(self.quantity, 0.0)
        self.spread = np.append(self.spread, spec.credit_spread)
        self.maturity = np.append(self.maturity, spec.maturity)
        return i

    # --- the cached solve -------------------------------------------------------------------

    @staticmethod
    def _market_key(market: UnderlyingMarket) -> tuple[Any, ...]:
        return (market.vol, market.rate, market.div_yield, cash_dividends(market))

    def _solve(self, idx: np.ndarray | None, spot: float, as_of: float,
               market: UnderlyingMarket) -> ConvertibleState:
        """A fresh solve of the bonds `idx` (None: all) at this market; nothing stored."""
        rows = range(self.n) if idx is None else idx.tolist()
        batch = pack([terms_at(self.specs[i], as_of) for i in rows])
        return solve(batch, spot, market.vol, market.rate, market.div_yield,
                     dividends=_years(cash_dividends(market), as_of))

    def _solve_all(self, spot: float, as_of: float, market: UnderlyingMarket) -> None:
        self.state = self._solve(None, spot, as_of, market)
        self._solved_at = np.full(self.n, as_of)
        self._solved_rows = self.n
        self._key = self._market_key(market)
        self.stale = np.zeros(self.n, dtype=np.int8)

    def _resolve(self, idx: np.ndarray, spot: float, as_of: float,
                 market: UnderlyingMarket) -> None:
        assert self.state is not None
        self.state = replace_bonds(self.state, idx, self._solve(idx, spot, as_of, market))
        self._solved_at[idx] = as_of
        stale = self.stale.copy()  # replaced, never changed in place: rows share it
        stale[idx] = 0
        self.stale = stale

    def _staleness(self, spot: float, as_of: float, market: UnderlyingMarket) -> np.ndarray:
        """needs_resolve per bond, bonds solved at this very time counted fresh (a solve that
        fails stays NaN until time moves on, rather than being redone on every tick)."""
        assert self.state is not None
        codes = np.empty(self.n, dtype=np.int8)
        needs_resolve_into(self.state, float(spot), float(market.vol), float(market.rate),
                           float(market.div_yield), self.spread,
                           (as_of - self._solved_at) / SECONDS_PER_YEAR, codes)
        codes[self._solved_at == as_of] = 0
        return codes

    def _due(self) -> np.ndarray:
        """The stale bonds, stalest first: an event passed, the spot left the band, then
        drift; the oldest solve first within each."""
        flagged = np.flatnonzero(self.stale)
        rank = np.select([self.stale[flagged] == EVENT_PASSED,
                          self.stale[flagged] == SPOT_OUTSIDE_BAND], [0, 1], 2)
        return flagged[np.lexsort((self._solved_at[flagged], rank))]

    def _add_new(self, spot: float, as_of: float, market: UnderlyingMarket) -> None:
        """Solve the bonds added since the last solve, and append them to it."""
        assert self.state is not None
        new = np.arange(self._solved_rows, self.n)
        batch = pack([terms_at(spec, as_of) for spec in self.specs])
        self.state = extend_bonds(self.state, self._solve(new, spot, as_of, market), batch)
        self._solved_at = np.concatenate([self._solved_at, np.full(new.shape[0], as_of)])
        self.stale = np.concatenate([self.stale, np.zeros(new.shape[0], dtype=np.int8)])
        self._solved_rows = self.n

    def refresh(self, spot: float, as_of: float, market: UnderlyingMarket) -> None:
        """Bring the cached solve in line before a valuation: a full solve when the market
        changed, a solve of the new bonds when bonds were added; then the staleness check
        and at most `inline` re-solves."""
        if self.state is None or self._key != self._market_key(market):
            self._solve_all(spot, as_of, market)
            return
        if self._solved_rows != self.n:
            self._add_new(spot, as_of, market)
        self.stale = self._staleness(spot, as_of, market)
        if self.inline > 0 and self.stale.any():
            self._resolve(self._due()[: self.inline], spot, as_of, market)

    def upkeep(self, spot: float, as_of: float, market: UnderlyingMarket,
               max_bonds: int) -> int:
        """Re-solve up to `max_bonds` of the bonds flagged stale, at this valuation; returns
        how many (the caller revalues the underlying to publish them)."""
        if self.state is None or not self.stale.any():
            return 0
        if self._key != self._market_key(market):
            self._solve_all(spot, as_of, market)
            return self.n
        if self._solved_rows != self.n:
            self._add_new(spot, as_of, market)
        due = self._due()[:max_bonds]
        self._resolve(due, spot, as_of, market)
        return int(due.shape[0])

    # --- valuation ----------------------------------------------------------------------------

    def recompute(self, spot: float, as_of: float, market: UnderlyingMarket
                  ) -> tuple[FloatArray, ConvertibleRows, float, float]:
        """Value every bond at `spot` and `as_of` (epoch s).

        Returns (totals, rows, gamma weight, gamma·τ): totals (5,) delta, gamma, vega, theta,
        rho of the group in desk units (bonds whose solve failed count 0 there and are NaN in
        their rows); Σ|Γ·quantity| and Σ|Γ·quantity|·τ with τ the years to maturity, for the
        underlying's gamma-weighted time (Whalley–Wilmott)."""
        self.refresh(spot, as_of, market)
        assert self.state is not None
        n = self.n
        out = self._out
        if out.shape[1] != n:
            out = self._out = np.zeros((ROWS, n))
        revalue_into(self.state, spot, out)
        qty = self.quantity
        figures = out[1:6]
        totals = (figures @ qty) * _DESK
        if not np.isfinite(totals).all():  # a failed solve: NaN in its row, 0 in the totals
            figures = np.nan_to_num(figures, nan=0.0)
            totals = (figures @ qty) * _DESK
        tau = np.maximum(self.maturity - as_of, 0.0) / SECONDS_PER_YEAR
        abs_gamma = np.abs(figures[1] * qty)
        if len(self._names) != n:
            self._names = tuple(self.symbols)
        # maturity and stale are replaced, never changed in place: the rows may share them
        rows = ConvertibleRows(
            symbols=self._names, quantity=qty.copy(), raw=out.copy(),
            vol=np.full(n, market.vol), maturity=self.maturity, stale=self.stale)
        return totals, rows, float(abs_gamma.sum()), float(abs_gamma @ tau)

    def revalue(self, spot: float, as_of: float, market: UnderlyingMarket, *,
                vol_shift: float = 0.0, vol_scale: float = 1.0, rate_shift: float = 0.0,
                spread_shift: float = 0.0, vols: FloatArray | None = None
                ) -> tuple[FloatArray, FloatArray]:
        """Full revaluation of every bond at `spot` and `as_of` under a shock, touching no
        state (scenarios, P&L explain steps) — the `OptionGroup.revalue` of convertibles.

        The vols are the underlying's flat vol (or `vols`, one per bond), then × `vol_scale`
        + `vol_shift` (floored at 1e-4); the rate moves by `rate_shift` and every bond's
        credit spread by `spread_shift` (floored at 0). The cached solve serves when nothing
        but the spot moved and it stands at `as_of` (a spot outside its band is interpolated
        on its grid too); otherwise the bonds are solved afresh. Returns (figures (11, N) per
        bond in raw units, FIGURE_NAMES order; the vols used (N))."""
        n = self.n
        base = np.full(n, market.vol) if vols is None else np.asarray(vols, dtype=_F64)
        vol = (np.maximum(base * vol_scale + vol_shift, 1e-4)
               if vol_scale != 1.0 or vol_shift != 0.0 else base)
        out = np.zeros((ROWS, n))
        if n == 0:
            return out, vol
        shocked = rate_shift != 0.0 or spread_shift != 0.0 or bool(np.any(vol != market.vol))
        cached = (self.state is not None and self._solved_rows == n and not shocked
                  and self._key == self._market_key(market))
        redo = np.arange(n)
        if cached:
            assert self.state is not None
            revalue_into(self.state, spot, out)
            codes = self._staleness(spot, as_of, market)
            redo = np.flatnonzero((codes != 0) & (codes != SPOT_OUTSIDE_BAND))
        if redo.shape[0]:
            batch = pack([terms_at(self.specs[i], as_of) for i in redo.tolist()])
            state = solve(batch, spot, vol[redo], market.rate + rate_shift, market.div_yield,
                          credit_spread=np.maximum(self.spread[redo] + spread_shift, 0.0),
                          dividends=_years(cash_dividends(market), as_of))
            fresh = np.empty((ROWS, redo.shape[0]))
            revalue_into(state, spot, fresh)
            out[:, redo] = fresh
        return out, vol
