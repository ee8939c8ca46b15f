"""The hedge engine: turns one underlying's risk into a signal, or a counted reason not to.

Plain Python beside the book: no web, Redis or SQLite here. The clock is passed in (wall
clock for pending TTLs, staleness and throttles); event time comes with the risk snapshot.

Order of a decision (each "no" is counted per reason on the policy view):
off → no spot → halted → stale → the policy's goal (inside band / interval not due) →
order size in lots → a clipped signal still pending → max_order / max_position clip →
below min_order → reduce-only → throttles (signals/s, notional/min) → signal.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import uuid
from collections.abc import Callable, Iterable

from app.book.risk import UnderlyingRisk
from app.domain import Clock
from app.errors import Conflict, UnknownSymbol
from app.hedging import rules
from app.hedging.policy import HedgePolicy, HedgeSpec, Mode
from app.hedging.rails import is_stale, shrinks
from app.hedging.signal import PendingOrder, Signal
from app.hedging.state import HedgeState, Want

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
        risk: UnderlyingRisk,
        spec: HedgeSpec,
        last_received: float | None,
        rate: float = 0.0,
    ) -> Signal | None:
        """A signal for `risk.underlying` when its policy wants a trade and every rail allows."""
        w = self.want(risk, spec, last_received, rate)
        if w is None:
            return None
        st = self.states[risk.underlying]
        return self._emit(st, risk, spec, w.order, w.pending, w.net, w.target,
                          st.policy.mode.value, w.clipped, w.notional)

    def decide_shared(self, users: list[tuple[UnderlyingRisk, HedgeSpec, float | None, float]],
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
                self._quiet(self.states[risk.underlying], "netted")
            return None
        risk, spec, _ = lead
        agg = dataclasses.replace(
            risk, hedge_position=sum(r.hedge_position for r, _, _ in wants))
        return self._emit(
            st, agg, spec, net_order,
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
        risk: UnderlyingRisk,
        spec: HedgeSpec,
        last_received: float | None,
        rate: float = 0.0,
    ) -> Want | None:
        """What the policy of `risk.underlying` would send now, through every rail; None
        (with the reason counted on the policy view) when it would send nothing."""
        st = self.states.get(risk.underlying)
        if st is None or st.policy.mode is Mode.OFF:
            if st is not None:
                self._quiet(st, "off")
            return None
        policy = st.policy
        if not risk.valued:
            self._quiet(st, "no_spot")
            return None
        assert risk.spot is not None and risk.delta is not None and risk.as_of is not None
        spu = spec.shares_per_unit
        pending = self.pending(risk.underlying)
        net = risk.delta + pending * spu
        st.net_delta = net
        half_width = self._half_width(policy, risk, rate)
        st.band = half_width

        now = self.clock.now()
        if self.halted_all or st.halted:
            self._quiet(st, "halted")
            return None
        if self.system_halt is not None:
            self._quiet(st, "system_halt")
            return None
        if is_stale(last_received, now, policy.stale_after_s):
            self._quiet(st, "stale")
            return None

        if policy.mode is Mode.INTERVAL:
            if not rules.interval_due(risk.as_of, st.last_check_ts, policy.interval_s):
                self._quiet(st, "interval_not_due")
                return None
            st.last_check_ts = float(rules.interval_slot(risk.as_of, st.last_check_ts,
                                                         policy.interval_s))
            goal = policy.target_delta
        else:
            goal = float(rules.band_goal(net, policy.target_delta, half_width, policy.to_edge))
            if math.isnan(goal):
                self._quiet(st, "inside_band")
                return None

        wanted = float(rules.order_units(goal, net, spu, spec.lot_size))
        if wanted == 0 or abs(wanted) < policy.min_order:
            self._quiet(st, "below_min_order")
            return None
        if self.clip_pending(risk.underlying):
            self._quiet(st, "clip_pending")
            return None

        position = risk.hedge_position + pending
        limit = policy.max_position
        if limit is not None and abs(position) > limit:
            # beyond the limit already (fills, a manual order): a halt-by-limit that only a
            # reduce-only policy's shrinking orders pass
            st.breach = f"hedge position {position:+g} units beyond max_position {limit:g}"
            log.warning("%s: %s", risk.underlying, st.breach)
            if not (policy.reduce_only and shrinks(position, wanted)):
                self._quiet(st, "limit")
                return None
        order = float(rules.clip_order(wanted, position, policy.max_order, limit,
                                       spec.lot_size))
        clipped = order != wanted
        if limit is not None and abs(position + wanted) > limit and st.breach is None:
            st.breach = f"wanted {position + wanted:+g} units, max_position {limit:g}"
            log.warning("%s: %s", risk.underlying, st.breach)
        reducing = shrinks(position, order)
        if order == 0 or abs(order) < policy.min_order:
            self._quiet(st, "limit" if clipped else "below_min_order")
            return None
        if st.reduce_only_reasons and not reducing:
            self._quiet(st, "reduce_only")
            return None
        if st.throttle.signals_full(now, policy.max_signals_per_s):
            self._quiet(st, "throttled")
            return None
        notional = abs(order) * spu * risk.spot
        if st.throttle.notional_full(now, notional, policy.max_notional_per_min) and not (
            policy.reduce_only and reducing
        ):
            self._quiet(st, "notional_limit")
            return None
        return Want(order, clipped, notional, pending, net, policy.target_delta)

    def manual(
        self, risk: UnderlyingRisk, spec: HedgeSpec, order_qty: float, instrument: str | None
    ) -> Signal:
        """A desk's own order, published like any other with reason `manual`."""
        if self.is_halted(risk.underlying):
            raise Conflict(f"hedging of {risk.underlying} is halted")
        st = self.state(risk.underlying)
        pending = self.pending(risk.underlying)
        net = (risk.delta or 0.0) + pending * spec.shares_per_unit
        notional = abs(order_qty) * spec.shares_per_unit * (risk.spot or 0.0)
        counts = instrument is None or instrument == spec.instrument
        return self._emit(st, risk, spec, order_qty, pending, net, st.policy.target_delta,
                          "manual", False, notional, instrument,
                          shares=None if counts else {})

    # --- internals ------------------------------------------------------------------------

    @staticmethod
    def _half_width(policy: HedgePolicy, risk: UnderlyingRisk, rate: float) -> float:
        if policy.mode is Mode.WHALLEY_WILMOTT and risk.gamma and risk.spot:
            h = float(rules.whalley_wilmott_half_width(
                risk.spot, risk.gamma, policy.cost_per_share, policy.risk_aversion,
                rate, risk.gamma_tau))
            if h > 0:
                return h
        return policy.band

    def _quiet(self, st: HedgeState, reason: str) -> None:
        st.quiet[reason] += 1
        st.last_decision = reason
        return None

    def _emit(
        self,
        st: HedgeState,
        risk: UnderlyingRisk,
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
            ts=risk.as_of if risk.as_of is not None else now,
            underlying=risk.underlying,
            instrument=instrument or spec.instrument,
            order_qty=order,
            current_position=risk.hedge_position,
            pending_before=pending,
            net_delta_before=net,
            target_delta=target,
            spot=risk.spot,
            reason=reason,
        )
        self.next_seq += 1
        st.throttle.record(now, notional)
        st.last_decision = "signal"
        self.remember(PendingOrder(sig.id, sig.underlying, sig.instrument, order,
                                   now + st.policy.pending_ttl_s, clipped,
                                   shares={sig.underlying: order} if shares is None else shares,
                                   counts=shares != {}))
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
