"""The hedge engine: turns one underlying's risk into a signal, or a counted reason not to.

Plain Python beside the book: no web, Redis or SQLite here. The clock is passed in (wall
clock for pending TTLs, staleness and throttles); event time comes with the risk snapshot.

The decision itself is `app.hedging.decide` (the same kernel the backtester runs over paths);
the engine keeps the state around it — policies, halts, pending orders, throttle windows, the
interval schedule — hands it in, and keeps what comes out: the signal, or the reason not to
trade counted on the policy view.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections import Counter
from collections.abc import Callable, Iterable

from app.domain import Clock
from app.errors import Conflict, UnknownSymbol
from app.hedging.decide import Breach, Decider, Reason, warm_up
from app.hedging.policy import HedgePolicy, HedgeSpec
from app.hedging.rails import is_stale
from app.hedging.signal import PendingOrder, Signal
from app.hedging.state import Exposure, HedgeState, Want

# Signals remembered after they are done (filled, cancelled or expired), for late fills: at
# most this many (≈ 0.4 KB each: ≈ 8 MB), the oldest forgotten first; a pending one is never
# forgotten. A fill naming a forgotten signal is still a fill: it moves the position and the
# hedge position of the instrument's underlying (`Book.apply_fill` without an allocation);
# only an over-fill of that signal goes unflagged, and a fill of an instrument shared by
# several underlyings goes to its default one instead of the signal's split. 20,000 done
# signals are over a minute at 300 signals/s, hours at a desk's pace.
MAX_REMEMBERED_SIGNALS = 20_000
log = logging.getLogger("dynhedge.hedging")


class HedgeEngine:
    def __init__(
        self,
        clock: Clock,
        next_seq: int = 1,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        max_order_units: float = math.inf,
    ) -> None:
        self.clock = clock
        self.next_seq = next_seq
        self.new_id = new_id
        self.states: dict[str, HedgeState] = {}
        self.signals: dict[str, PendingOrder] = {}  # every remembered signal, by id
        self._pending_cache: dict[str, float] = {}
        self._clip_cache: dict[str, bool] = {}
        self.open: dict[str, dict[str, PendingOrder]] = {}  # underlying -> still pending
        self.halted_all = False
        self.system_halt: str | None = None  # set by the runner, e.g. "outbox full"
        self._decider = Decider(max_order_units)
        warm_up()  # the decision kernel compiles (or loads) now, not on the first tick

    # --- policy and kill switch -----------------------------------------------------------

    def state(self, underlying: str) -> HedgeState:
        st = self.states.get(underlying)
        if st is None:
            st = self.states[underlying] = HedgeState(HedgePolicy())
        return st

    def set_policy(self, underlying: str, policy: HedgePolicy) -> None:
        st = self.state(underlying)
        st.policy = policy
        st.breach = None

    def halt(self, underlying: str | None) -> None:
        if underlying is None:
            self.halted_all = True
        else:
            self.state(underlying).halted = True

    def resume(self, underlying: str | None) -> None:
        if underlying is None:
            self.halted_all = False
            for st in self.states.values():
                st.halted = False
        else:
            self.state(underlying).halted = False

    def is_halted(self, underlying: str) -> bool:
        st = self.states.get(underlying)
        return self.halted_all or (st is not None and st.halted)

    # --- pending --------------------------------------------------------------------------

    def pending(self, underlying: str) -> float:
        """Units of the hedge instrument still pending for `underlying` (its share of each
        open signal, in proportion to what is left of it). Cached per underlying until one
        of its open orders changes: O(1) per decision however many orders are open."""
        v = self._pending_cache.get(underlying)
        if v is None:
            v = sum(p.pending_for(underlying) for p in self.open.get(underlying, {}).values())
            self._pending_cache[underlying] = v
        return v

    def clip_pending(self, underlying: str) -> bool:
        v = self._clip_cache.get(underlying)
        if v is None:
            v = any(p.clipped for p in self.open.get(underlying, {}).values())
            self._clip_cache[underlying] = v
        return v

    def _touch(self, underlyings: Iterable[str]) -> None:
        for u in underlyings:
            self._pending_cache.pop(u, None)
            self._clip_cache.pop(u, None)

    def expire(self) -> set[str]:
        """Release what passed its TTL; returns the underlyings whose pending changed."""
        now = self.clock.now()
        touched: set[str] = set()
        for orders in self.open.values():
            for p in [p for p in orders.values() if p.expires_at <= now]:
                p.remaining = 0.0
                touched.update(p.shares)
        for u in touched:
            self.open[u] = {k: p for k, p in self.open[u].items() if p.remaining}
        self._touch(touched)
        return touched

    def _settle(self, p: PendingOrder) -> None:
        self._touch(p.shares)
        if not p.remaining:
            for u in p.shares:
                self.open.get(u, {}).pop(p.signal_id, None)

    def on_fill(self, signal_id: str, signed_qty: float) -> PendingOrder | None:
        """Count a fill against its signal; an over-fill is accepted and flagged."""
        p = self.signals.get(signal_id)
        if p is None:
            return None
        p.filled += signed_qty
        self._touch(p.shares)
        if p.remaining == 0 or (signed_qty > 0) != (p.remaining > 0):
            p.overfilled = True
        elif abs(signed_qty) > abs(p.remaining):
            p.overfilled = True
            p.remaining = 0.0
        else:
            p.remaining -= signed_qty
            if abs(p.remaining) < 1e-9:
                p.remaining = 0.0
        self._settle(p)
        return p

    def cancel(self, signal_id: str) -> PendingOrder:
        p = self.signals.get(signal_id)
        if p is None:
            raise UnknownSymbol("signal", signal_id)
        p.remaining = 0.0
        self._settle(p)
        return p

    # --- decisions ------------------------------------------------------------------------

    def decide(
        self,
        risk: Exposure,
        spec: HedgeSpec,
        last_received: float | None,
        rate: float = 0.0,
    ) -> Signal | None:
        """A signal for `risk.underlying` when its policy wants a trade and every rail allows."""
        w = self.want(risk, spec, last_received, rate)
        if w is None:
            return None
        st = self.states[risk.underlying]
        return self._emit(st, risk.underlying, risk.as_of, risk.hedge_position, risk.spot,
                          spec, w.order, w.pending, w.net, w.target, st.policy.mode.value,
                          w.clipped, w.notional)

    def decide_shared(self, users: list[tuple[Exposure, HedgeSpec, float | None, float]],
                      trigger: str) -> Signal | None:
        """Underlyings that share one hedge instrument: their wanted orders net into one
        signal (allocated back to each by its own want), so they never trade against each
        other. A net below the trigger's `min_order` sends nothing ("netted")."""
        wants = []
        for risk, spec, last_received, rate in users:
            w = self.want(risk, spec, last_received, rate)
            if w is not None:
                wants.append((risk, spec, w))
        if not wants:
            return None
        net_order = sum(w.order for _, _, w in wants)
        lead = next((x for x in wants if x[0].underlying == trigger), wants[0])
        st = self.states[lead[0].underlying]
        if net_order == 0 or abs(net_order) < st.policy.min_order:
            for risk, _, _ in wants:
                self._quiet(self.states[risk.underlying], Reason.NETTED.label)
            return None
        risk, spec, _ = lead
        return self._emit(
            st, risk.underlying, risk.as_of, sum(r.hedge_position for r, _, _ in wants),
            risk.spot, spec, net_order,
            sum(w.pending for _, _, w in wants),
            sum(w.net for _, _, w in wants),
            sum(w.target for _, _, w in wants),
            st.policy.mode.value,
            any(w.clipped for _, _, w in wants),
            sum(w.notional for _, _, w in wants),
            shares={r.underlying: w.order for r, _, w in wants},
        )

    def want(
        self,
        risk: Exposure,
        spec: HedgeSpec,
        last_received: float | None,
        rate: float = 0.0,
    ) -> Want | None:
        """What the policy of `risk.underlying` would send now, through every rail; None
        (with the reason counted on the policy view) when it would send nothing."""
        u = risk.underlying
        st = self.states.get(u)
        if st is None:
            return None
        policy = st.policy
        now = self.clock.now()
        pending = self.pending(u)
        throttle = st.throttle
        d = self._decider.one(
            policy, spec, rate,
            valued=risk.valued,
            delta=_or_nan(risk.delta),
            spot=_or_nan(risk.spot),
            as_of=_or_nan(risk.as_of),
            hedge_position=risk.hedge_position,
            pending=pending,
            gamma=_or_nan(risk.gamma),
            tau=risk.gamma_tau,
            last_check=st.last_check_ts,
            halted=self.halted_all or st.halted,
            system_halt=self.system_halt is not None,
            stale=is_stale(last_received, now, policy.stale_after_s),
            clip_pending=self.clip_pending(u),
            reduce_only=bool(st.reduce_only_reasons),
            throttled=throttle.signals_full(now, policy.max_signals_per_s),
            notional_used=throttle.notional_used(now),
        )
        reason = d.reason
        if reason is not Reason.OFF and reason is not Reason.NO_SPOT:
            st.net_delta = d.net
            st.band = d.half_width
        st.last_check_ts = d.last_check
        if d.breach is not Breach.NONE:
            self._breach(st, u, d.breach, risk.hedge_position + pending, d.wanted)
        if reason is not Reason.SIGNAL:
            self._quiet(st, reason.label)
            return None
        return Want(d.order, d.clipped, d.notional, pending, d.net, policy.target_delta)

    def manual(
        self, risk: Exposure, spec: HedgeSpec, order_qty: float, instrument: str | None
    ) -> Signal:
        """A desk's own order, published like any other with reason `manual`."""
        if self.is_halted(risk.underlying):
            raise Conflict(f"hedging of {risk.underlying} is halted")
        st = self.state(risk.underlying)
        pending = self.pending(risk.underlying)
        net = (risk.delta or 0.0) + pending * spec.shares_per_unit
        notional = abs(order_qty) * spec.shares_per_unit * (risk.spot or 0.0)
        counts = instrument is None or instrument == spec.instrument
        return self._emit(st, risk.underlying, risk.as_of, risk.hedge_position, risk.spot, spec,
                          order_qty, pending, net, st.policy.target_delta, "manual", False,
                          notional, instrument, shares=None if counts else {})

    def flatten(self, risk: Exposure, spec: HedgeSpec) -> Signal | None:
        """Trade the delta to the policy's target now, ignoring the band (a limit's
        `flatten`), with reason `flatten`; the kill switch and `max_order` still hold. None
        when there is nothing to trade or hedging is halted."""
        u = risk.underlying
        if (self.is_halted(u) or self.system_halt is not None or risk.delta is None
                or risk.spot is None):
            return None
        st = self.state(u)
        pending = self.pending(u)
        per_unit = spec.shares_per_unit
        net = risk.delta + pending * per_unit
        lot = spec.lot_size
        order = lot * round((st.policy.target_delta - net) / per_unit / lot)
        if st.policy.max_order is not None:
            order = max(-st.policy.max_order, min(st.policy.max_order, order))
        if order == 0:
            return None
        notional = abs(order) * per_unit * risk.spot
        return self._emit(st, u, risk.as_of, risk.hedge_position, risk.spot, spec, order,
                          pending, net, st.policy.target_delta, "flatten", False, notional)

    # --- internals ------------------------------------------------------------------------

    @staticmethod
    def _breach(st: HedgeState, underlying: str, breach: Breach, position: float,
                wanted: float) -> None:
        """Report a breach of max_position on the policy view and in the log: a position
        beyond it always; a wanted order beyond it when nothing is reported yet."""
        limit = st.policy.max_position
        if breach is Breach.BEYOND_LIMIT:
            st.breach = f"hedge position {position:+g} units beyond max_position {limit:g}"
        elif st.breach is None:
            st.breach = f"wanted {position + wanted:+g} units, max_position {limit:g}"
        else:
            return
        log.warning("%s: %s", underlying, st.breach)

    def quiet_totals(self) -> list[tuple[str, int]]:
        """Decisions not to trade since start, by reason, over every underlying."""
        total: Counter[str] = Counter()
        for st in self.states.values():
            total.update(st.quiet)
        return list(total.items())

    def _quiet(self, st: HedgeState, reason: str) -> None:
        st.quiet[reason] += 1
        st.last_decision = reason
        return None

    def _emit(
        self,
        st: HedgeState,
        underlying: str,
        as_of: float | None,
        position: float,
        spot: float | None,
        spec: HedgeSpec,
        order: float,
        pending: float,
        net: float,
        target: float,
        reason: str,
        clipped: bool,
        notional: float,
        instrument: str | None = None,
        shares: dict[str, float] | None = None,
    ) -> Signal:
        now = self.clock.now()
        sig = Signal(
            id=self.new_id(),
            seq=self.next_seq,
            ts=as_of if as_of is not None else now,
            underlying=underlying,
            instrument=instrument or spec.instrument,
            order_qty=order,
            current_position=position,
            pending_before=pending,
            net_delta_before=net,
            target_delta=target,
            spot=spot,
            reason=reason,
        )
        self.next_seq += 1
        st.throttle.record(now, notional)
        st.last_decision = "signal"
        self.remember(PendingOrder(sig.id, sig.underlying, sig.instrument, order,
                                   now + st.policy.pending_ttl_s, clipped,
                                   shares={sig.underlying: order} if shares is None else shares,
                                   counts=shares != {}, spot=spot))
        return sig

    def remember(self, order: PendingOrder) -> None:
        self.signals[order.signal_id] = order
        self._touch(order.shares)
        if order.remaining:
            for u in order.shares:
                self.open.setdefault(u, {})[order.signal_id] = order
        if len(self.signals) > MAX_REMEMBERED_SIGNALS:
            for key in _oldest_done(self.signals.values(), len(self.signals) // 10):
                del self.signals[key]


def _oldest_done(orders: Iterable[PendingOrder], count: int) -> list[str]:
    out = []
    for p in orders:
        if not p.remaining:
            out.append(p.signal_id)
            if len(out) >= count:
                break
    return out


def _or_nan(x: float | None) -> float:
    return math.nan if x is None else x
