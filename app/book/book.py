"""The book: positions grouped by underlying, valued in desk units.

Plain Python + numpy; one writer mutates it (the engine core). A tick on one underlying
revalues exactly that underlying's `OptionGroup`.

Where a position's delta lands:
- options: in the group of their underlying;
- convertible bonds: in the convertible group of their underlying (`app.book.convertibles`),
  their figures added to the options' in the same desk units;
- a stock or future that is some underlying's hedge instrument: in that underlying, through the
  hedge's `multiplier × ratio` (several underlyings sharing one instrument each hold the part of
  the position their own signals and fills built, see `hedge_position`);
- any other stock or future: in the group of its underlying, `quantity × multiplier` shares.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from app.book.convertibles import ConvertibleGroup
from app.book.group import OptionGroup
from app.book.market import UnderlyingMarket
from app.book.risk import OptionRows, UnderlyingRisk
from app.domain import HedgeRequest, Instrument, InstrumentType, canonical_symbol
from app.errors import InvalidInput, UnknownSymbol

_EMPTY = np.zeros(5)


@dataclass(slots=True)
class Position:
    instrument: Instrument
    quantity: float


class Book:
    def __init__(self, convertible_inline: int = 1) -> None:
        self.markets: dict[str, UnderlyingMarket] = {}
        self.positions: dict[str, Position] = {}
        self.instruments: dict[str, Instrument] = {}
        self.groups: dict[str, OptionGroup] = {}
        self.convertibles: dict[str, ConvertibleGroup] = {}
        # bonds one valuation may re-solve when only ticks made them stale (the rest: upkeep)
        self.convertible_inline = convertible_inline
        self.hedge_users: dict[str, list[str]] = {}  # hedge instrument -> underlyings
        self.hedge_alloc: dict[str, float] = {}  # underlying -> units of its hedge instrument
        # underlying -> its stock/future position symbols (insertion order): a recompute of
        # one underlying must not scan the whole book
        self.linear_symbols: dict[str, list[str]] = {}

    # --- look-ups -------------------------------------------------------------------------

    def market(self, underlying: str) -> UnderlyingMarket:
        m = self.markets.get(underlying)
        if m is None:
            raise UnknownSymbol("underlying", underlying)
        return m

    def instrument(self, symbol: str) -> Instrument | None:
        return self.instruments.get(canonical_symbol(symbol))

    def quantity(self, symbol: str) -> float:
        p = self.positions.get(canonical_symbol(symbol))
        return 0.0 if p is None else p.quantity

    def underlyings_touched_by(self, inst: Instrument) -> set[str]:
        """The underlyings whose figures change when `inst`'s position changes."""
        users = self.hedge_users.get(inst.symbol)
        if users and not inst.is_option:
            return set(users)
        return {inst.underlying}

    def style_of(self, inst: Instrument) -> str:
        """The exercise style in force: the instrument's own, else its underlying's
        `option_style` (options only; stock and futures are european)."""
        if inst.style is not None:
            return inst.style
        if inst.is_convertible:
            return "american"  # a convertible converts at any time
        m = self.markets.get(inst.underlying)
        return m.option_style if m is not None and inst.is_option else "european"

    def hedge_position(self, underlying: str) -> float:
        return self.hedge_alloc.get(underlying, 0.0)

    def has_positions(self, underlying: str) -> bool:
        """True when the underlying holds a non-zero option, convertible, stock or future
        position."""
        group = self.groups.get(underlying)
        if group is not None and bool(np.any(group.quantity[: group.n])):
            return True
        bonds = self.convertibles.get(underlying)
        if bonds is not None and bool(np.any(bonds.quantity)):
            return True
        return any(self.positions[s].quantity for s in self.linear_symbols.get(underlying, ()))

    # --- writes ---------------------------------------------------------------------------

    def define(self, inst: Instrument, replace: bool = False) -> Instrument:
        """File an instrument under its canonical symbol. The first definition wins unless
        `replace` (a start-of-day load is authoritative)."""
        key = canonical_symbol(inst.symbol)
        known = self.instruments.get(key)
        if known is not None and not replace:
            return known
        if inst.symbol != key:
            inst = dataclasses.replace(inst, symbol=key)
        self.instruments[key] = inst
        return inst

    def set_underlying(self, market: UnderlyingMarket) -> None:
        """Add or replace the market parameters of one underlying (keeps its last tick)."""
        old = self.markets.get(market.symbol)
        if old is not None:
            market.option_ivs = old.option_ivs
            market.option_tick_ts = old.option_tick_ts
            if market.spot is None:
                market.spot, market.as_of = old.spot, old.as_of
            market.last_tick_ts, market.last_received = old.last_tick_ts, old.last_received
            market.bid, market.ask = old.bid, old.ask
            if market.surface is not None and old.surface is not None:
                old.surface.config = market.surface.config  # the surface in use stays
                market.surface = old.surface
        self.check_hedge(market.symbol, market.hedge_request or HedgeRequest())
        self.markets[market.symbol] = market
        group = self.groups.get(market.symbol)
        if group is not None:
            group.restyle(market.option_style)  # options without a style follow the market
        self.resolve_models()

    # --- the model in force ---------------------------------------------------------------

    def check_hedge(self, underlying: str, request: HedgeRequest,
                    field: str = "hedge.multiplier") -> None:
        """Refuse a hedge whose multiplier contradicts its defined instrument's."""
        inst = self.instruments.get(canonical_symbol(request.instrument_for(underlying)))
        why = request.contradiction(None if inst is None or inst.is_option else inst.multiplier)
        if why is not None:
            raise InvalidInput(field, why)

    def check_definitions(self, items: list[tuple[str, Instrument]]) -> None:
        """Refuse instrument definitions that contradict an underlying's explicit hedge
        multiplier; `items` are (the field to name, the instrument)."""
        for field, inst in items:
            if not inst.is_linear:
                continue
            key = canonical_symbol(inst.symbol)
            for m in self.markets.values():
                request = m.hedge_request or HedgeRequest()
                if canonical_symbol(request.instrument_for(m.symbol)) != key:
                    continue
                if request.contradiction(inst.multiplier) is not None:
                    raise InvalidInput(field, f"{inst.multiplier:g} contradicts the hedge of "
                                       f"{m.symbol}, which says multiplier {request.multiplier:g}")

    def resolve_models(self) -> set[str]:
        """Bring every market's model (Black-76 when its symbol is a future, declared or
        defined) and hedge spec (the defined instrument's multiplier) in line with the
        instruments; returns the underlyings whose model or hedge changed."""
        changed: set[str] = set()
        for sym, m in self.markets.items():
            inst = self.instruments.get(sym)
            is_future = m.declared_type == "future" or (
                inst is not None and inst.type is InstrumentType.FUTURE)
            request = m.hedge_request or HedgeRequest()
            hedge_inst = self.instruments.get(canonical_symbol(request.instrument_for(sym)))
            defined = None if hedge_inst is None or hedge_inst.is_option else \
                hedge_inst.multiplier
            spec = request.resolve(sym, defined)
            if is_future != m.is_future or spec != m.hedge:
                m.is_future, m.hedge = is_future, spec
                changed.add(sym)
        self._rebuild_hedge_users()
        return changed

    def load_positions(self, items: list[tuple[Instrument, float]]) -> set[str]:
        """Replace the whole book (its definitions are authoritative); returns every
        underlying whose figures changed."""
        before = set(self.groups) | {p.instrument.underlying for p in self.positions.values()}
        self.positions.clear()
        self.groups.clear()
        self.convertibles.clear()
        self.linear_symbols.clear()
        for inst, qty in items:
            inst = self.define(inst, replace=True)
            pos = self.positions.get(inst.symbol)
            if pos is None:
                self.positions[inst.symbol] = Position(inst, qty)
                self._index_linear(inst)
            else:
                pos.quantity += qty
        for pos in self.positions.values():
            if pos.instrument.is_option:
                self.option_row(pos.instrument, pos.quantity)
            elif pos.instrument.is_convertible:
                self.convertible_row(pos.instrument, pos.quantity)
        self.resolve_models()
        self._reset_hedge_alloc()
        return before | {p.instrument.underlying for p in self.positions.values()} | set(
            self.markets
        )

    def apply_fill(
        self, inst: Instrument, signed_qty: float, allocation: dict[str, float] | None = None
    ) -> set[str]:
        """Add a fill's quantity to its position, incrementally. `allocation` splits a fill of
        a hedge instrument over the underlyings whose signal it fills (units each). Returns
        the underlyings whose model or hedge spec the fill's new definition changed."""
        new = canonical_symbol(inst.symbol) not in self.instruments
        inst = self.define(inst)
        changed = self.resolve_models() if new and not inst.is_option else set()
        pos = self.positions.get(inst.symbol)
        if pos is None:
            pos = self.positions[inst.symbol] = Position(inst, 0.0)
            self._index_linear(inst)
        pos.quantity += signed_qty
        if inst.is_option:
            self.option_row(inst, pos.quantity)
        elif inst.is_convertible:
            self.convertible_row(inst, pos.quantity)
        users = self.hedge_users.get(inst.symbol)
        if users and not inst.is_option:
            mine = {u: q for u, q in (allocation or {}).items() if u in users}
            if not mine:
                mine = {self._default_user(inst): signed_qty}
            for owner, units in mine.items():
                self.hedge_alloc[owner] = self.hedge_alloc.get(owner, 0.0) + units
        return changed

    def apply_spot(self, underlying: str, ts: float, price: float, received: float,
                   bid: float | None = None, ask: float | None = None) -> None:
        m = self.market(underlying)
        m.spot, m.as_of, m.last_tick_ts, m.last_received = price, ts, ts, received
        m.bid, m.ask = bid, ask

    def apply_option_iv(self, inst: Instrument, ts: float, iv: float) -> None:
        m = self.market(inst.underlying)
        m.option_ivs[inst.symbol] = iv
        m.option_tick_ts[inst.symbol] = ts
        group = self.groups.get(inst.underlying)
        if group is not None and inst.symbol in group.index:
            i = group.index[inst.symbol]
            group.iv[i], group.iv_ts[i] = iv, ts

    # --- valuation ------------------------------------------------------------------------

    def value(self, underlying: str, pending: float = 0.0) -> UnderlyingRisk:
        """Revalue one underlying at its valuation time; figures None until it has a spot."""
        m = self.markets.get(underlying)
        hedge_units = self.hedge_alloc.get(underlying, 0.0)
        linear = self._linear(underlying, m)
        if m is None or m.spot is None or m.as_of is None:
            why = "no market parameters" if m is None else "no spot"
            return UnderlyingRisk(underlying, None, None, None, None, None, None, None,
                                  hedge_units, pending, 0.0, None, linear, unpriced=why)
        group = self.groups.get(underlying)
        rows = None
        gamma_tau = 0.0
        totals = _EMPTY
        if group is not None and group.n:
            totals, rows, gamma_tau = group.recompute(m.spot, m.as_of, m)
        bonds = self.convertibles.get(underlying)
        bond_rows = None
        if bonds is not None and bonds.n:
            bond_totals, bond_rows, weight, weighted_tau = bonds.recompute(m.spot, m.as_of, m)
            totals = totals + bond_totals
            gamma_tau = _blend_tau(rows, gamma_tau, weight, weighted_tau)
        delta = float(totals[0]) + sum(d for _, _, d in linear)
        bench = None if m.benchmark is None else self.markets.get(m.benchmark)
        return UnderlyingRisk(
            underlying, m.spot, m.as_of, delta, float(totals[1]), float(totals[2]),
            float(totals[3]), float(totals[4]), hedge_units, pending, gamma_tau, rows, linear,
            convertibles=bond_rows, beta=m.beta, benchmark=m.benchmark,
            benchmark_spot=None if bench is None else bench.spot,
        )

    def convertible_upkeep(self, max_bonds: int) -> set[str]:
        """Re-solve up to `max_bonds` convertibles whose solve a tick found stale (off the
        tick path); returns the underlyings to revalue."""
        touched: set[str] = set()
        for u, bonds in self.convertibles.items():
            m = self.markets.get(u)
            if max_bonds <= 0 or m is None or m.spot is None or m.as_of is None:
                continue
            done = bonds.upkeep(m.spot, m.as_of, m, max_bonds)
            if done:
                max_bonds -= done
                touched.add(u)
        return touched

    def convertibles_stale(self) -> bool:
        """True while some valued underlying has convertibles waiting for a re-solve."""
        return any(bonds.stale.any() for u, bonds in self.convertibles.items()
                   if (m := self.markets.get(u)) is not None and m.spot is not None)

    # --- internals ------------------------------------------------------------------------

    def convertible_row(self, inst: Instrument, quantity: float) -> None:
        bonds = self.convertibles.get(inst.underlying)
        if bonds is None:
            bonds = self.convertibles[inst.underlying] = ConvertibleGroup(
                self.convertible_inline)
        bonds.set_quantity(inst, quantity)

    def option_row(self, inst: Instrument, quantity: float) -> None:
        group = self.groups.get(inst.underlying)
        if group is None:
            group = self.groups[inst.underlying] = OptionGroup()
        m = self.markets.get(inst.underlying)
        i = group.row(inst, "european" if m is None else m.option_style)
        group.quantity[i] = quantity
        if m is not None and inst.symbol in m.option_ivs:
            group.iv[i] = m.option_ivs[inst.symbol]
            group.iv_ts[i] = m.option_tick_ts.get(inst.symbol, np.nan)

    def _linear(
        self, underlying: str, m: UnderlyingMarket | None
    ) -> tuple[tuple[str, float, float], ...]:
        """(symbol, quantity, delta in shares) of the stock and future positions of one
        underlying, the hedge position included."""
        out: list[tuple[str, float, float]] = []
        if m is not None:
            units = self.hedge_alloc.get(underlying, 0.0)
            if units or m.hedge.instrument in self.positions:
                out.append((m.hedge.instrument, units, units * m.hedge.shares_per_unit))
        for sym in self.linear_symbols.get(underlying, ()):
            if sym in self.hedge_users:
                continue
            pos = self.positions[sym]
            out.append((sym, pos.quantity, pos.quantity * pos.instrument.multiplier))
        return tuple(out)

    def linear_delta(self, underlying: str) -> float:
        """Shares of delta the stock, future and hedge positions of one underlying hold."""
        return sum(d for _, _, d in self._linear(underlying, self.markets.get(underlying)))

    def reindex_linear(self) -> None:
        """Rebuild the per-underlying index of stock/future positions (after `positions` was
        filled from outside, e.g. a snapshot restore)."""
        self.linear_symbols = {}
        for pos in self.positions.values():
            self._index_linear(pos.instrument)

    def _index_linear(self, inst: Instrument) -> None:
        if inst.is_linear:
            self.linear_symbols.setdefault(inst.underlying, []).append(inst.symbol)

    def _rebuild_hedge_users(self) -> None:
        users: dict[str, list[str]] = {}
        for sym in sorted(self.markets):
            users.setdefault(self.markets[sym].hedge.instrument, []).append(sym)
        if users != self.hedge_users:
            self.hedge_users = users
            self._reset_hedge_alloc()

    def _default_user(self, inst: Instrument) -> str:
        users = self.hedge_users[inst.symbol]
        return inst.underlying if inst.underlying in users else users[0]

    def _reset_hedge_alloc(self) -> None:
        """Give each hedge instrument's whole position to its default underlying — used when
        the attribution cannot be kept (a new book, a changed hedge instrument)."""
        self.hedge_alloc = {u: 0.0 for u in self.markets}
        for sym in self.hedge_users:
            pos = self.positions.get(sym)
            if pos is not None and not pos.instrument.is_option:
                owner = self._default_user(pos.instrument)
                self.hedge_alloc[owner] += pos.quantity


def _blend_tau(rows: OptionRows | None, options_tau: float, weight: float,
               weighted_tau: float) -> float:
    """The |gamma|-weighted time to expiry of options and convertibles together (years)."""
    if rows is not None:
        gamma = rows.raw[2] if rows.smile_gamma is None else rows.smile_gamma
        w = float(np.abs(gamma * rows.size).sum())
        weight, weighted_tau = weight + w, weighted_tau + w * options_tau
    return weighted_tau / weight if weight > 0 else 0.0
