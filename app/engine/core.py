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
from collections.abc import Iterable
from dataclasses import dataclass

from app.book import Book, UnderlyingMarket, UnderlyingRisk
from app.domain import (
    Clock,
    Fill,
    HedgeSpec,
    Instrument,
    Tick,
    canonical_symbol,
    instrument_from_fields,
    parse_occ,
)
from app.domain.units import SECONDS_PER_YEAR
from app.engine.inbox import Inbox
from app.engine.jump_filter import JumpFilter, Verdict
from app.errors import InvalidInput, UnknownSymbol
from app.hedging import HedgeEngine, HedgePolicy, PendingOrder, Signal
from app.pricing import implied_vol

log = logging.getLogger("dynhedge.core")



@dataclass(frozen=True, slots=True)
class FillOutcome:
    exec_id: str
    symbol: str
    quantity: float  # the position after the fill
    underlyings: frozenset[str]
    overfill: bool = False


class Core:
    def __init__(self, clock: Clock, max_clock_skew_s: float = 5.0, next_seq: int = 1) -> None:
        self.clock = clock
        self.max_clock_skew_s = max_clock_skew_s
        self.book = Book()
        self.hedger = HedgeEngine(clock, next_seq=next_seq)
        self.risk: dict[str, UnderlyingRisk] = {}
        self.dirty = Inbox()  # underlyings waiting for a recompute, oldest first
        self.jump_filters: dict[str, JumpFilter] = {}
        self.reconcile_broker: dict[str, float] = {}  # the broker's positions, last reconcile

    # --- configuration --------------------------------------------------------------------

    def set_underlying(
        self,
        symbol: str,
        *,
        rate: float,
        div_yield: float,
        vol: float,
        spot: float | None = None,
        hedge: HedgeSpec | None = None,
        max_jump_pct: float = 10.0,
        confirm_ticks: int = 3,
        is_future: bool = False,
        as_of: float | None = None,
    ) -> UnderlyingMarket:
        """`as_of`: when the parameters were set (wall clock now unless replayed)."""
        market = UnderlyingMarket(
            symbol=symbol,
            rate=rate,
            div_yield=div_yield,
            vol=vol,
            hedge=hedge or HedgeSpec(instrument=symbol),
            max_jump_pct=max_jump_pct,
            confirm_ticks=confirm_ticks,
            is_future=is_future,
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

    def load_positions(self, items: list[tuple[Instrument, float]]) -> int:
        touched = self.book.load_positions(items)
        self.dirty.update(touched)
        return len(items)

    def set_policy(self, underlying: str, policy: HedgePolicy) -> None:
        self.hedger.set_policy(underlying, policy)
        self.dirty.add(underlying)

    def halt(self, underlying: str | None) -> None:
        self.hedger.halt(underlying)

    def resume(self, underlying: str | None) -> None:
        self.hedger.resume(underlying)
        self.dirty.update(self.book.markets if underlying is None else (underlying,))

    # --- ticks ----------------------------------------------------------------------------

    def apply_tick(self, tick: Tick) -> str:
        """Validate and apply one tick to the market state; returns the dirty underlying.
        Raises InvalidInput (naming the field) or UnknownSymbol; a rejected tick changes nothing."""
        symbol = tick.symbol
        market = self.book.markets.get(symbol)
        if tick.ts > tick.received + self.max_clock_skew_s:
            raise InvalidInput(
                "ts", f"more than {self.max_clock_skew_s:g} s ahead of the server clock"
            )
        if market is not None:
            self._check_order(tick, market.last_tick_ts)
            price = _tick_price(tick)
            jump = self.jump_filters.get(symbol)
            if jump is None:
                jump = self.jump_filters[symbol] = JumpFilter()
            jump.max_jump_pct, jump.confirm_ticks = market.max_jump_pct, market.confirm_ticks
            verdict = jump.judge(market.spot if market.last_tick_ts is not None else None, price,
                                 tick.ts)
            if verdict is Verdict.HOLD:
                market.last_tick_ts = tick.ts  # held prints still order the feed
                log.warning("%s: print %g held (%.1f%% from %g)", symbol, price,
                            100 * (price / (market.spot or price) - 1), market.spot)
                return symbol
            if verdict is Verdict.CONFIRM:
                log.warning("%s: new level %g confirmed by %d prints", symbol, price,
                            market.confirm_ticks)
            elif verdict is Verdict.RETURN:
                log.warning("%s: market returned to %g; held prints dropped", symbol, price)
            self.book.apply_spot(symbol, tick.ts, price, tick.received, tick.bid, tick.ask)
            self.dirty.add(symbol)
            return symbol
        inst = self.book.instrument(symbol) or parse_occ(symbol)
        if inst is None or not inst.is_option:
            raise UnknownSymbol("symbol", symbol)
        market = self.book.markets.get(inst.underlying)
        if market is None:
            raise UnknownSymbol("underlying", inst.underlying)
        inst = dataclasses.replace(inst, symbol=canonical_symbol(inst.symbol))
        self._check_order(tick, market.option_tick_ts.get(inst.symbol))
        iv = tick.iv if tick.iv is not None else self._implied(inst, market, tick)
        if not (0 < iv <= 10):
            raise InvalidInput("iv", "must be in (0, 10]")
        self.book.apply_option_iv(inst, tick.ts, iv)
        self.dirty.add(inst.underlying)
        return inst.underlying

    def check_event_time(self, ts: float, field: str = "ts") -> None:
        """An event time (a fill's) may not be more than the clock skew ahead of the server."""
        if ts > self.clock.now() + self.max_clock_skew_s:
            raise InvalidInput(field, f"more than {self.max_clock_skew_s:g} s ahead of the "
                               "server clock")

    @staticmethod
    def _check_order(tick: Tick, last_ts: float | None) -> None:
        if last_ts is not None and tick.ts < last_ts:
            raise InvalidInput("ts", "older than the last accepted tick of this symbol")

    def _implied(self, inst: Instrument, market: UnderlyingMarket, tick: Tick) -> float:
        mid = tick.mid
        if mid is None:
            raise InvalidInput("iv", "an option tick needs iv, or bid and ask")
        if market.spot is None or market.as_of is None:
            raise InvalidInput("bid", "the underlying has no spot to imply a vol from")
        assert inst.strike is not None and inst.expiry is not None
        t = max(inst.expiry - max(market.as_of, tick.ts), 0.0) / SECONDS_PER_YEAR
        iv, reason = implied_vol(
            "call" if inst.is_call else "put", mid, market.spot, inst.strike, t, market.rate,
            market.div_yield, model="black76" if market.is_future else "bsm",
            return_reason=True,
        )
        value = float(iv.reshape(-1)[0]) if hasattr(iv, "reshape") else float(iv)
        if math.isnan(value):
            why = reason.reshape(-1)[0] if hasattr(reason, "reshape") else reason
            raise InvalidInput("bid", f"no implied vol fits the mid {mid:g} ({why})")
        return value

    # --- fills ----------------------------------------------------------------------------

    def apply_fill(self, fill: Fill, inst: Instrument) -> FillOutcome:
        """Add a fill to the book and count it against its signal. The caller journals first."""
        signal = self.hedger.signals.get(fill.signal_id) if fill.signal_id else None
        allocation = None
        if signal is not None and signal.instrument == canonical_symbol(inst.symbol):
            allocation = signal.allocate(fill.signed_quantity)
        self.book.apply_fill(inst, fill.signed_quantity, allocation)
        overfill = False
        if fill.signal_id:
            p = self.hedger.on_fill(fill.signal_id, fill.signed_quantity)
            overfill = p is not None and p.overfilled
        known = self.book.instrument(inst.symbol) or inst
        touched = self.book.underlyings_touched_by(known)
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
        self.book.apply_fill(inst, -fill.signed_quantity, allocation)
        known = self.book.instrument(inst.symbol) or inst
        touched = self.book.underlyings_touched_by(known) | set(allocation or ())
        self.dirty.update(touched)
        return FillOutcome(fill.exec_id, known.symbol, self.book.quantity(known.symbol),
                           frozenset(touched))

    # --- reconciliation -------------------------------------------------------------------

    def reconcile(self, broker: dict[str, float]) -> list[dict[str, object]]:
        """Compare the broker's positions with ours. Every symbol with a difference puts the
        underlyings it touches in reduce-only until an admin accepts."""
        theirs = {canonical_symbol(s): q for s, q in broker.items()}
        self.reconcile_broker = theirs
        ours = {s: p.quantity for s, p in self.book.positions.items()}
        diffs: list[dict[str, object]] = []
        for sym in sorted(set(theirs) | {s for s, q in ours.items() if q}):
            mine, other = ours.get(sym, 0.0), theirs.get(sym, 0.0)
            if abs(mine - other) <= 1e-9:
                continue
            inst = self.book.instrument(sym) or parse_occ(sym)
            underlyings = sorted(self.book.underlyings_touched_by(inst)) if inst else [sym]
            for u in underlyings:
                self.hedger.state(u).reduce_only_reasons.add(f"reconcile:{sym}")
            diffs.append({"symbol": sym, "ours": mine, "broker": other,
                          "difference": other - mine, "underlyings": underlyings})
        return diffs

    def accept_reconcile(self, symbols: list[str] | None, adopt: bool) -> list[str]:
        """Clear reduce-only for `symbols` (all flagged when None); `adopt` first sets our
        positions to the broker's. Returns the symbols cleared."""
        flagged = {r.split(":", 1)[1] for st in self.hedger.states.values()
                   for r in st.reduce_only_reasons if r.startswith("reconcile:")}
        wanted = flagged if symbols is None else {canonical_symbol(s) for s in symbols}
        for sym in sorted(wanted & flagged):
            if adopt and sym in self.reconcile_broker:
                inst = self.book.instrument(sym) or parse_occ(sym) or self.resolve_instrument(
                    sym, {})
                gap = self.reconcile_broker[sym] - self.book.quantity(sym)
                if gap:
                    self.book.apply_fill(inst, gap)
                    self.dirty.update(self.book.underlyings_touched_by(inst))
            for st in self.hedger.states.values():
                st.reduce_only_reasons.discard(f"reconcile:{sym}")
        return sorted(wanted & flagged)

    def resolve_instrument(self, symbol: str, fields: dict[str, object]) -> Instrument:
        known = self.book.instrument(symbol)
        if known is not None and not fields:
            return known
        try:
            return instrument_from_fields(symbol, dict(fields))
        except ValueError as exc:
            raise InvalidInput.from_value_error(exc) from None

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
        risk = self.value(underlying)
        signals: list[Signal] = []
        market = self.book.markets.get(underlying)
        self.risk[underlying] = risk
        if market is None:
            return signals
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

    def _decision_input(
        self, underlying: str
    ) -> tuple[UnderlyingRisk, HedgeSpec, float | None, float]:
        m = self.book.markets[underlying]
        risk = self.risk.get(underlying)
        if risk is None:
            risk = self.risk[underlying] = self.value(underlying)
        return risk, m.hedge, m.last_received, m.rate

    def recompute_all(self, underlyings: Iterable[str]) -> list[Signal]:
        out: list[Signal] = []
        for u in sorted(set(underlyings)):
            out.extend(self.recompute(u))
        return out

    def ensure_known(self, underlying: str) -> None:
        if underlying not in self.book.markets:
            raise UnknownSymbol("underlying", underlying)


def _tick_price(tick: Tick) -> float:
    if tick.price is not None:
        return tick.price
    if tick.bid is not None and tick.ask is not None:
        if tick.bid > tick.ask:
            raise InvalidInput("bid", "bid > ask")
        return 0.5 * (tick.bid + tick.ask)
    raise InvalidInput("price", "an underlying tick needs price, or bid and ask")


__all__ = ["Core", "FillOutcome"]
