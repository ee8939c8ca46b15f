"""The synchronous core shared by the live service and the backtester's replay.

One writer: every mutation of the book and the hedge engine goes through a `Core` method, in
one thread. Ticks are applied cheaply (market state only) and mark their underlying dirty;
`recompute` values one underlying and asks the hedge engine whether to trade. The caller
(the asyncio runner, or a replay loop) decides when to recompute — that is what lets ticks
coalesce: however many ticks arrived, one recompute sees the latest.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.book import Book, UnderlyingMarket, UnderlyingRisk
from app.book.vols import SurfaceConfig, SurfaceState
from app.domain import (
    Clock,
    Fill,
    HedgeRequest,
    HedgeSpec,
    Instrument,
    Tick,
    canonical_symbol,
)
from app.domain.shard import Shard, underlying_of
from app.engine import dispatch, fills, tick_intake
from app.engine.commands import Command, NewFill, RecordFill, SignalSent
from app.engine.firm_book import FirmRest
from app.engine.inbox import Inbox
from app.engine.jump_filter import JumpFilter
from app.engine.limits import Limits
from app.engine.pnl_desk import PnlDesk
from app.engine.quote_vols import QuoteVols
from app.errors import InvalidInput, Misrouted, UnknownSymbol
from app.hedging import HedgeEngine, HedgePolicy, PendingOrder, Signal

log = logging.getLogger("dynhedge.core")


@dataclass(frozen=True, slots=True)
class LoadOutcome:
    """A start-of-day load: how many items, and per underlying its hedge position (units of
    its hedge instrument) before and after."""

    loaded: int
    hedges: dict[str, tuple[float, float]]


@dataclass(frozen=True, slots=True)
class FillOutcome:
    exec_id: str
    symbol: str
    quantity: float  # the position after the fill
    underlyings: frozenset[str]
    overfill: bool = False


class Core:
    def __init__(self, clock: Clock, max_clock_skew_s: float = 5.0, next_seq: int = 1,
                 max_order_units: float = math.inf, shard: Shard | None = None) -> None:
        self.clock = clock
        self.max_clock_skew_s = max_clock_skew_s
        self.shard = shard  # None: one process owns every underlying
        self.book = Book()
        if shard is None:
            self.hedger = HedgeEngine(clock, next_seq=next_seq, max_order_units=max_order_units)
        else:  # signal ids unique across shards: `K-…`
            prefix = f"{shard.index}-"
            self.hedger = HedgeEngine(clock, next_seq=next_seq,
                                      new_id=lambda: prefix + uuid.uuid4().hex,
                                      max_order_units=max_order_units)
        self.risk: dict[str, UnderlyingRisk] = {}
        self.dirty = Inbox()  # underlyings waiting for a recompute, oldest first
        self.jump_filters: dict[str, JumpFilter] = {}
        self.reconcile_broker: dict[str, float] = {}  # the broker's positions, last reconcile
        self.limits = Limits()  # risk limits and their alerts (checked after each recompute)
        self.quote_vols = QuoteVols()  # implied vols of option quotes
        self.pnl = PnlDesk(self.book)  # the day's P&L, fed on loads, fills and recomputes

    # --- configuration --------------------------------------------------------------------

    def set_underlying(
        self,
        symbol: str,
        *,
        rate: float,
        div_yield: float,
        vol: float,
        spot: float | None = None,
        hedge: HedgeRequest | HedgeSpec | None = None,
        max_jump_pct: float = 10.0,
        confirm_ticks: int = 3,
        declared_type: str | None = None,
        as_of: float | None = None,
        option_style: str = "european",
        dividends: tuple[tuple[float, float], ...] = (),
        beta: float = 1.0,
        benchmark: str | None = None,
        price_scan_pct: float = 15.0,
        vol_scan: float = 0.04,
        surface: SurfaceConfig | None = None,
        mark_source: str = "theo",
    ) -> UnderlyingMarket:
        """`as_of`: when the parameters were set (wall clock now unless replayed). A hedge
        multiplier that contradicts its defined instrument raises InvalidInput. `surface`:
        fit one from its options' quotes (a repeated PUT keeps the surface in use and its
        lock, under the new settings); None: no surface."""
        request = HedgeRequest.of(hedge) if isinstance(hedge, HedgeSpec) else (
            hedge or HedgeRequest())
        market = UnderlyingMarket(
            symbol=symbol,
            rate=rate,
            div_yield=div_yield,
            vol=vol,
            hedge=request.resolve(symbol, None),
            max_jump_pct=max_jump_pct,
            confirm_ticks=confirm_ticks,
            declared_type=declared_type,
            hedge_request=request,
            option_style=option_style,
            dividends=tuple(sorted(dividends)),
            beta=beta,
            benchmark=benchmark,
            price_scan_pct=price_scan_pct,
            vol_scan=vol_scan,
            surface=None if surface is None else SurfaceState(
                surface, last_fit_wall=self.clock.now() if as_of is None else as_of),
            mark_source=mark_source,
        )
        old = self.book.markets.get(symbol)
        if spot is not None:
            market.spot = spot
            # a PUT's spot values the underlying at the PUT's time until the first tick
            has_tick = old is not None and old.last_tick_ts is not None
            now = self.clock.now() if as_of is None else as_of
            market.as_of = old.as_of if has_tick and old is not None else now
        self.book.set_underlying(market)
        self.dirty.update(self.book.markets)  # a hedge instrument change may touch others
        return self.book.markets[symbol]

    def load_positions(self, items: list[tuple[Instrument, float]],
                       marks: dict[str, float] | None = None) -> LoadOutcome:
        """Replace the whole book (hedge positions included: a load that leaves out a hedge
        line sets that hedge to 0 — the answer shows each hedge before and after). It starts
        a P&L day at `marks` (per-unit, by symbol; the others are marked once valued)."""
        before = {u: self.book.hedge_position(u) for u in self.book.markets}
        touched = self.book.load_positions(items)
        self.pnl.start_day(marks or {})
        self.dirty.update(touched)
        after = {u: self.book.hedge_position(u) for u in self.book.markets}
        return LoadOutcome(len(items), {u: (before.get(u, 0.0), after.get(u, 0.0))
                                        for u in sorted(set(before) | set(after))})

    def set_policy(self, underlying: str, policy: HedgePolicy) -> None:
        self.hedger.set_policy(underlying, policy)
        self.dirty.add(underlying)

    def halt(self, underlying: str | None) -> None:
        self.hedger.halt(underlying)
        self.limits.kill_switch("halt", underlying, self.clock.now())

    def resume(self, underlying: str | None) -> None:
        self.hedger.resume(underlying)
        self.limits.kill_switch("resume", underlying, self.clock.now())
        self.dirty.update(self.book.markets if underlying is None else (underlying,))

    # --- ticks ----------------------------------------------------------------------------

    def apply_tick(self, tick: Tick) -> str:
        """Validate and apply one tick to the market state; returns the dirty underlying
        (app.engine.tick_intake)."""
        return tick_intake.apply_tick(self, tick)

    def check_event_time(self, ts: float, field: str = "ts") -> None:
        """An event time (a fill's) may not be more than the clock skew ahead of the server."""
        if ts > self.clock.now() + self.max_clock_skew_s:
            raise InvalidInput(field, f"more than {self.max_clock_skew_s:g} s ahead of the "
                               "server clock")

    # --- fills ----------------------------------------------------------------------------

    def apply_fill(self, fill: Fill, inst: Instrument,
                   reference: float | None = None) -> FillOutcome:
        """Add a fill to the book and count it against its signal. The caller journals first
        (after `check_fill`). `reference`: what P&L measures its price against."""
        signal = self.hedger.signals.get(fill.signal_id) if fill.signal_id else None
        allocation = None
        if signal is not None and signal.instrument == canonical_symbol(inst.symbol):
            allocation = signal.allocate(fill.signed_quantity)
        changed = self.book.apply_fill(inst, fill.signed_quantity, allocation)
        self.pnl.fill(fill, inst, reference, allocation)
        overfill = False
        if allocation is not None:
            p = self.hedger.on_fill(fill.signal_id or "", fill.signed_quantity)
            overfill = p is not None and p.overfilled
        known = self.book.instrument(inst.symbol) or inst
        touched = self.book.underlyings_touched_by(known) | changed
        if allocation:
            touched.update(allocation)
        self.dirty.update(touched)
        return FillOutcome(fill.exec_id, known.symbol, self.book.quantity(known.symbol),
                           frozenset(touched), overfill)

    def bust_fill(self, fill: Fill, inst: Instrument) -> FillOutcome:
        """Reverse a fill (the broker busted it): the position and the hedge allocation move
        back; the signal's pending is not revived — the next decision sees the real need."""
        signal = self.hedger.signals.get(fill.signal_id) if fill.signal_id else None
        allocation = None
        if signal is not None and signal.instrument == canonical_symbol(inst.symbol):
            allocation = signal.allocate(-fill.signed_quantity)
            signal.filled -= fill.signed_quantity
        changed = self.book.apply_fill(inst, -fill.signed_quantity, allocation)
        self.pnl.fill(fill, inst, None, allocation, bust=True)
        known = self.book.instrument(inst.symbol) or inst
        touched = self.book.underlyings_touched_by(known) | set(allocation or ()) | changed
        self.dirty.update(touched)
        return FillOutcome(fill.exec_id, known.symbol, self.book.quantity(known.symbol),
                           frozenset(touched))

    # --- signals --------------------------------------------------------------------------

    def cancel(self, signal_id: str) -> PendingOrder:
        """Drop what is pending of a signal. Not a decision point (CONTRACT §5 lists ticks,
        fills, loads and policy changes): the next of those may hedge again."""
        p = self.hedger.cancel(signal_id)
        self._refresh_pending(p.underlying)
        return p

    def _refresh_pending(self, underlying: str) -> None:
        r = self.risk.get(underlying)
        if r is not None:
            self.risk[underlying] = dataclasses.replace(
                r, pending=self.hedger.pending(underlying))

    def manual_signal(self, underlying: str, order_qty: float,
                      instrument: str | None = None) -> Signal:
        market = self.book.market(underlying)
        if order_qty == 0 or not math.isfinite(order_qty):
            raise InvalidInput("order_qty", "must be a finite, non-zero number of units")
        risk = self.value(underlying)
        sig = self.hedger.manual(risk, market.hedge, order_qty, instrument)
        self.risk[underlying] = dataclasses.replace(risk, pending=self.hedger.pending(underlying))
        return sig

    def sent(self, signals: list[Signal]) -> list[tuple[Signal, SignalSent]]:
        """Each signal with the record the journal keeps of it (its pending order)."""
        out = []
        for s in signals:
            p = self.hedger.signals.get(s.id)
            shares = p.shares if p is not None else {s.underlying: s.order_qty}
            out.append((s, SignalSent(
                id=s.id, seq=s.seq, underlying=s.underlying, instrument=s.instrument,
                order_qty=s.order_qty,
                expires_at=p.expires_at if p is not None else self.clock.now(),
                clipped=p is not None and p.clipped, shares=tuple(shares.items()),
                counts=p.counts if p is not None else True, spot=s.spot)))
        return out

    def set_system_halt(self, reason: str | None) -> None:
        """Hedging stops (reason) or goes on (None) for every underlying: the egress's
        back-pressure when signals cannot leave."""
        self.hedger.system_halt = reason

    def raise_next_seq(self, floor: int) -> None:
        """Number the next signals from `floor` on at least."""
        self.hedger.next_seq = max(self.hedger.next_seq, floor)

    def expire_pending(self) -> set[str]:
        """Release pending orders past their TTL (wall clock); like a cancel, not a decision
        point."""
        touched = self.hedger.expire()
        for u in touched:
            self._refresh_pending(u)
        return touched

    # --- recompute ------------------------------------------------------------------------

    def value(self, underlying: str) -> UnderlyingRisk:
        return self.book.value(underlying, self.hedger.pending(underlying))

    def recompute(self, underlying: str) -> list[Signal]:
        """Revalue one underlying and decide; the new snapshot replaces the old one."""
        self.dirty.discard(underlying)
        signals: list[Signal] = []
        market = self.book.markets.get(underlying)
        if market is None and not self.book.has_positions(underlying):
            self.risk.pop(underlying, None)  # neither parameters nor positions: not in the view
            return signals
        risk = self.value(underlying)
        self.risk[underlying] = risk
        if market is None:
            return signals
        if risk.valued:
            self.pnl.observe(underlying, risk, market.rate)
        flatten = self.limits.check(self, underlying, risk)
        if flatten:
            signals.extend(self._flatten(flatten))
            if underlying in flatten:
                return signals  # traded to the target now: no policy decision this time
        users = self.book.hedge_users.get(market.hedge.instrument, [underlying])
        if len(users) > 1:
            sig = self.hedger.decide_shared([self._decision_input(u) for u in users], underlying)
        else:
            sig = self.hedger.decide(risk, market.hedge, market.last_received, market.rate)
        if sig is not None:
            signals.append(sig)
            for u in users:
                self._refresh_pending(u)
        return signals

    def judge_firm(self, rest: FirmRest | None) -> list[Signal]:
        """The other shards' parts of the firm's figures changed: the book limits judged on
        the firm's totals again; the signals of a `flatten` they fire."""
        self.limits.elsewhere = rest
        return self._flatten(self.limits.judge_book(self))

    def _flatten(self, underlyings: set[str]) -> list[Signal]:
        """A limit's `flatten`: each underlying's delta to its policy's target now."""
        out = []
        for u in sorted(underlyings):
            market = self.book.markets.get(u)
            risk = self.risk.get(u)
            if market is None or risk is None:
                continue
            sig = self.hedger.flatten(risk, market.hedge)
            if sig is not None:
                out.append(sig)
                self._refresh_pending(u)
        return out

    def _decision_input(
        self, underlying: str
    ) -> tuple[UnderlyingRisk, HedgeSpec, float | None, float]:
        m = self.book.markets[underlying]
        risk = self.risk.get(underlying)
        if risk is None:
            risk = self.risk[underlying] = self.value(underlying)
        return risk, m.hedge, m.last_received, m.rate

    def upkeep_due(self) -> bool:
        """True while convertibles wait for a re-solve their ticks left to `upkeep`."""
        return self.book.convertibles_stale()

    def upkeep(self, max_bonds: int = 4) -> bool:
        """Re-solve up to `max_bonds` stale convertibles (off the tick path) and mark their
        underlyings for a recompute; False when there was nothing to do."""
        touched = self.book.convertible_upkeep(max_bonds)
        self.dirty.update(touched)
        return bool(touched)

    def recompute_all(self, underlyings: Iterable[str]) -> list[Signal]:
        out: list[Signal] = []
        for u in sorted(set(underlyings)):
            out.extend(self.recompute(u))
        return out

    # --- commands -------------------------------------------------------------------------

    def check(self, cmd: Command) -> None:
        """Refuse a command the book cannot take (before it is journaled)."""
        dispatch.check(self, cmd)

    def execute(self, cmd: Command) -> Any:
        """Apply a command (live or replayed); returns its outcome."""
        return dispatch.execute(self, cmd)

    def resolve_fill(self, new: NewFill) -> RecordFill:
        """What a fill is of, or why it cannot be booked (see `fills.resolve_fill`)."""
        return fills.resolve_fill(self, new)

    def ensure_known(self, underlying: str) -> None:
        if underlying not in self.book.markets:
            self.check_owner(underlying)
            raise UnknownSymbol("underlying", underlying)

    def check_owner(self, underlying: str) -> None:
        """Misrouted (421) naming the owning shard when this shard does not own
        `underlying`; nothing when it does, or when the service is not sharded."""
        shard = self.shard
        if shard is not None and not shard.owns(underlying):
            raise Misrouted(underlying, f"{shard.owner(underlying)}/{shard.count}")

    def check_owner_of_symbol(self, symbol: str) -> None:
        """`check_owner` for a symbol the book does not know (its underlying by its name)."""
        if self.shard is not None and self.book.instrument(symbol) is None \
                and symbol not in self.book.hedge_users:
            self.check_owner(underlying_of(symbol))


__all__ = ["Core", "FillOutcome", "LoadOutcome"]
