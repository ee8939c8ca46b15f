"""The desk's P&L since the start of the day: plain state beside the book, fed by the core.

- a load starts a day: every position becomes a `Holding` (app.pnl.Ledger) at its mark — the
  `mark` it was loaded with, else its value right after the load (`SetMarks`, journaled);
- a fill is a trade on its holding (fee and all); an option fill's `trade_edge` is
  (theo at the fill − price) × signed units × multiplier, a hedge fill's `hedge_slippage`
  (signal spot − price) × signed units × multiplier (paying up is negative);
- every recompute feeds the underlying's `Track` (attribution, hedge effectiveness);
- a roll closes the day: the values then become the marks, the day's figures the history.

Kinds: `option`, `convertible`, `hedge` (the underlying's hedge instrument, per underlying as
the book allocates it), `stock` (any other stock or future). Values now: an option's theo in
the latest risk snapshot (its fresh quoted mid under `mark_source: mid`), a convertible's
price per bond, a stock or future at its own market's spot when it has one, else its
underlying's. The figures themselves are built on read (`app.engine.pnl_figures`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.book import Book
from app.domain import Fill, Instrument
from app.engine.pnl_track import Revalue, Track
from app.pnl import Holding, Ledger

MID_MAX_AGE_S = 60.0  # a quoted mid older than this (event time) is not a mark
HISTORY_DAYS = 400


@dataclass(frozen=True, slots=True)
class Trade:
    exec_id: str
    quantity: float  # signed units
    price: float
    fee: float
    edge: float  # $ trade edge (options) or hedge slippage (hedge), 0 when unmeasured


class PnlDesk:
    def __init__(self, book: Book) -> None:
        self.book = book
        self.ledger = Ledger()
        self.trades: dict[tuple[str, str], list[Trade]] = {}
        self.tracks: dict[str, Track] = {}
        self.history: list[dict[str, Any]] = []
        self.mids: dict[str, tuple[float, float]] = {}  # option symbol -> (ts, quoted mid)
        self.day = 0  # rises at every load and roll (journaled): checkpoints name their day
        self.day_start: float | None = None  # event time the day began (a roll's), if known
        self.unmarked: set[str] = set()  # underlyings holding positions without a mark yet
        self.version = 0  # rises at every ledger change (readers cache by it)
        self._trade_index: tuple[int, dict[str, list[tuple[str, list[Trade]]]]] = (-1, {})
        self.attribute = True  # False: recomputes feed no attribution (the bench's "off")
        self.option_version = 0  # rises when option holdings may have changed

    # --- the day --------------------------------------------------------------------------

    def start_day(self, marks: dict[str, float]) -> None:
        """The book was loaded: each position a holding at its mark (`marks` by symbol;
        a position without one is marked once valued: `SetMarks`, journaled by the runner)."""
        book = self.book
        holdings: list[Holding] = []
        for sym, pos in book.positions.items():
            inst = pos.instrument
            if sym in book.hedge_users:
                continue  # held by the underlyings it hedges, below
            holdings.append(Holding(sym, inst.underlying, self.kind(inst), _mult(inst),
                                    pos.quantity, mark=marks.get(sym)))
        for u, units in book.hedge_alloc.items():
            if units and u in book.markets:
                sym = book.markets[u].hedge.instrument
                known = book.instrument(sym)
                holdings.append(Holding(sym, u, "hedge", 1.0 if known is None else _mult(known),
                                        units, mark=marks.get(sym)))
        self.ledger.start_day(holdings)
        self.trades = {}
        self.tracks = {}
        self.day += 1
        self.day_start = None
        self.unmarked = {h.underlying for h in holdings if h.mark is None and h.quantity}
        self.version += 1

    def set_marks(self, marks: tuple[tuple[str, str, float], ...]) -> None:
        """Marks resolved after a load (journaled as `SetMarks`)."""
        for u, sym, price in marks:
            h = self.ledger.holdings.get((u, sym))
            if h is not None and h.mark is None:
                h.mark = price
                self._rebuild((u, sym))
        self.unmarked = {h.underlying for h in self.ledger.holdings.values()
                         if h.mark is None and h.sod_quantity}
        self.version += 1

    def roll(self, as_of: float, marks: tuple[tuple[str, str, float], ...],
             figures: dict[str, Any]) -> None:
        """Close the day at `as_of`: `figures` to the history, `marks` the new start."""
        self.history.append({"day_start": self.day_start, "day_end": as_of, **figures})
        del self.history[:-HISTORY_DAYS]
        price = {(u, s): v for u, s, v in marks}
        kept = []
        for key, h in self.ledger.holdings.items():
            if not h.quantity:
                continue
            mark = price.get(key)
            kept.append(Holding(h.symbol, h.underlying, h.kind, h.multiplier, h.quantity,
                                mark=h.cost if mark is None else mark))
        self.ledger.start_day(kept)
        self.trades = {}
        for t in self.tracks.values():
            t.new_day()
        self.day += 1
        self.day_start = as_of
        self.unmarked = set()
        self.version += 1

    # --- fills ----------------------------------------------------------------------------

    def kind(self, inst: Instrument) -> str:
        if inst.is_option:
            return "option"
        if inst.is_convertible:
            return "convertible"
        return "hedge" if inst.symbol in self.book.hedge_users else "stock"

    def fill(self, fill: Fill, inst: Instrument, reference: float | None,
             allocation: dict[str, float] | None, bust: bool = False) -> None:
        """Book a fill (or take a busted one back out). `allocation`: how a hedge fill was
        split over the underlyings whose signal it fills (units each)."""
        book = self.book
        inst = book.instrument(inst.symbol) or inst
        kind = self.kind(inst)
        qty = fill.signed_quantity
        if kind == "hedge":
            users = book.hedge_users.get(inst.symbol, [])
            owners = {u: q for u, q in (allocation or {}).items() if u in users and q}
            if not owners:
                owner = inst.underlying if inst.underlying in users else users[0]
                owners = {owner: qty}
        else:
            owners = {inst.underlying: qty}
        mult = _mult(inst)
        if kind == "option":
            self.option_version += 1
        if bust:
            for key, trades in self.trades.items():
                if key[1] == inst.symbol and any(t.exec_id == fill.exec_id for t in trades):
                    trades[:] = [t for t in trades if t.exec_id != fill.exec_id]
                    if key in self.ledger.holdings:
                        self._rebuild(key)
            self.version += 1
            return
        for u, units in owners.items():
            share = units / qty if qty else 0.0
            key = (u, inst.symbol)
            edge = 0.0 if reference is None else (reference - fill.price) * units * mult
            trade = Trade(fill.exec_id, units, fill.price, fill.fee * share, edge)
            self.trades.setdefault(key, []).append(trade)
            self.ledger.trade(u, inst.symbol, kind, mult, units, fill.price, trade.fee)
        self.version += 1

    def _rebuild(self, key: tuple[str, str]) -> None:
        """A holding from its start of day and its trades (after a mark came or a bust)."""
        h = self.ledger.holdings[key]
        h.quantity, h.cost = h.sod_quantity, (h.mark or 0.0)
        h.realized = h.fees = 0.0
        for t in self.trades.get(key, ()):
            h.trade(t.quantity, t.price, t.fee)

    # --- recomputes and quotes ------------------------------------------------------------

    def track(self, underlying: str) -> Track:
        t = self.tracks.get(underlying)
        if t is None:
            t = self.tracks[underlying] = Track()
        return t

    def observe(self, underlying: str, risk: Any, rate: float) -> None:
        """The underlying was revalued (an `UnderlyingRisk` with a spot)."""
        if not self.attribute:
            return
        hedge = stock = 0.0
        for sym, _, delta in risk.linear:
            if sym in self.book.hedge_users:
                hedge += delta
            else:
                stock += delta
        self.track(underlying).observe(risk.options, risk.spot, risk.as_of, rate, hedge,
                                       stock, self.revaluer(underlying), self.option_version)

    def revaluer(self, underlying: str) -> Revalue | None:
        """Prices of the underlying's option rows at another point (spot, as_of, vols per
        row, rate), through the group's side-effect-free `revalue`."""
        group = self.book.groups.get(underlying)
        market = self.book.markets.get(underlying)
        if group is None or market is None:
            return None

        def revalue(spot: float, as_of: float, vols: np.ndarray, rate: float) -> np.ndarray:
            figures, _ = group.revalue(spot, as_of, market, vols=vols,
                                       rate_shift=rate - market.rate)
            out: np.ndarray = figures[0]
            return out

        return revalue

    def quote(self, symbol: str, ts: float, mid: float | None) -> None:
        """An option's quote: its mid is a mark under `mark_source: mid` while fresh."""
        if mid is None:
            self.mids.pop(symbol, None)
        else:
            self.mids[symbol] = (ts, mid)

    def hedge_trades(self, underlying: str) -> tuple[int, float]:
        """Today's hedge fills of the underlying: their count and cost (fees − slippage,
        $), from the journaled trades."""
        n, cost = 0, 0.0
        for sym, trades in self.trades_of(underlying):
            h = self.ledger.holdings.get((underlying, sym))
            if h is not None and h.kind == "hedge":
                n += len(trades)
                cost += sum(t.fee - t.edge for t in trades)
        return n, cost

    def trade_figures(self, underlying: str) -> tuple[float, float]:
        """(trade_edge of the option fills, hedge_slippage of the hedge fills), $."""
        edge = slip = 0.0
        for sym, trades in self.trades_of(underlying):
            h = self.ledger.holdings.get((underlying, sym))
            total = sum(t.edge for t in trades)
            if h is not None and h.kind == "hedge":
                slip += total
            else:
                edge += total
        return edge, slip

    def trades_of(self, underlying: str) -> list[tuple[str, list[Trade]]]:
        """(symbol, trades) of one underlying today (indexed once per ledger version)."""
        version, index = self._trade_index
        if version != self.version:
            index = {}
            for (u, sym), trades in self.trades.items():
                index.setdefault(u, []).append((sym, trades))
            self._trade_index = (self.version, index)
        return index.get(underlying, [])

    # --- checkpoint -----------------------------------------------------------------------

    def record(self) -> dict[str, Any]:
        return {
            "day": self.day, "day_start": self.day_start, "history": self.history,
            "holdings": [[h.symbol, h.underlying, h.kind, h.multiplier, h.sod_quantity, h.mark]
                         for h in self.ledger.holdings.values()],
            "trades": [[u, s, [[t.exec_id, t.quantity, t.price, t.fee, t.edge] for t in ts]]
                       for (u, s), ts in self.trades.items()],
            "tracks": {u: t.record(self.revaluer(u)) for u, t in self.tracks.items()},
        }

    def restore(self, d: dict[str, Any]) -> None:
        self.day, self.day_start = int(d["day"]), d.get("day_start")
        self.history = list(d.get("history") or [])
        self.ledger.holdings = {}
        for sym, u, kind, mult, sod, mark in d["holdings"]:
            h = Holding(sym, u, kind, mult, sod, mark=mark)
            h.sod_quantity = sod
            self.ledger.holdings[(u, sym)] = h
        self.trades = {(u, s): [Trade(*t) for t in ts] for u, s, ts in d["trades"]}
        for key in self.ledger.holdings:
            self._rebuild(key)
        self.tracks = {u: Track.of_record(t) for u, t in d.get("tracks", {}).items()}
        self.unmarked = {h.underlying for h in self.ledger.holdings.values()
                         if h.mark is None and h.sod_quantity}
        self.version += 1

    def track_record(self, underlying: str) -> dict[str, Any] | None:
        t = self.tracks.get(underlying)
        return None if t is None else {"day": self.day, **t.record(self.revaluer(underlying))}

    def restore_track(self, underlying: str, d: dict[str, Any]) -> None:
        """A checkpointed track of this very day, newer than what is here."""
        if d.get("day") != self.day:
            return
        mine = self.tracks.get(underlying)
        if mine is not None and mine.as_of is not None and (
                d.get("as_of") is None or d["as_of"] < mine.as_of):
            return
        self.tracks[underlying] = Track.of_record(d)


def _mult(inst: Instrument) -> float:
    return 1.0 if inst.is_convertible else float(inst.multiplier)
