"""The core's read side: immutable views of risk, positions, markets and policies.

Routes, WebSocket feeds and the egress read through a `ReadModel` and never touch the core's
mutable parts. Views are built on demand from the single writer's state — the event loop is
one thread, so a view is always consistent — and are frozen: a reader may keep one as long as
it likes. Their JSON is built in one place per message, `app.engine.views`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.book import UnderlyingRisk
from app.domain import HedgeSpec, Instrument
from app.engine import advice
from app.engine.pnl_figures import PnlFigures, marks_now, totals
from app.errors import UnknownSymbol
from app.hedging import HedgePolicy, HedgeState
from app.hedging.rails import is_stale

if TYPE_CHECKING:
    from app.engine.core import Core


@dataclass(frozen=True, slots=True)
class LastTick:
    ts: float
    price: float | None
    bid: float | None
    ask: float | None


@dataclass(frozen=True, slots=True)
class MarketView:
    """One underlying's parameters as in force (`type` and `hedge` resolved by the book)."""

    symbol: str
    spot: float | None
    rate: float
    div_yield: float
    vol: float
    type: str
    hedge: HedgeSpec
    max_jump_pct: float
    confirm_ticks: int
    as_of: float | None
    last_tick: LastTick | None
    option_style: str = "european"
    dividends: tuple[tuple[float, float], ...] = ()
    mark_source: str = "theo"


@dataclass(frozen=True, slots=True)
class PositionView:
    """A position; `style` is in force: the instrument's own, else its underlying's
    `option_style` (european for stock and futures)."""

    symbol: str
    quantity: float
    instrument: Instrument
    style: str


@dataclass(frozen=True, slots=True)
class PolicyView:
    """A policy with what the engine computes from it now, and why it is quiet."""

    underlying: str
    policy: HedgePolicy
    band: float | None
    net_delta: float | None
    pending: float
    halted: bool
    stale: bool
    reduce_only_reasons: tuple[str, ...]
    last_decision: str
    quiet: tuple[tuple[str, int], ...]
    breach: str | None

    @property
    def reduce_only(self) -> bool:
        return self.policy.reduce_only or bool(self.reduce_only_reasons)


class ReadModel:
    def __init__(self, core: Core) -> None:
        self._core = core
        self._pnl = PnlFigures(core.pnl)

    # --- risk -----------------------------------------------------------------------------

    def in_view(self) -> list[str]:
        """The underlyings the risk view shows: those with market parameters, and those
        holding positions (shown unpriced without parameters)."""
        core = self._core
        book = core.book
        held = set(book.groups) | set(book.convertibles) | set(core.risk)
        return sorted(set(book.markets) | {u for u in held if book.has_positions(u)})

    def risk(self, underlying: str) -> UnderlyingRisk:
        """The latest snapshot of one underlying; UnknownSymbol when not in the view."""
        core = self._core
        r = core.risk.get(underlying)
        if r is not None:
            return r
        if underlying not in core.book.markets and not core.book.has_positions(underlying):
            raise UnknownSymbol("underlying", underlying)
        return core.value(underlying)  # not recomputed yet: valued now, nothing stored

    def latest_risk(self, underlying: str) -> UnderlyingRisk | None:
        """The stored snapshot (what the risk feed pushes), None when there is none."""
        return self._core.risk.get(underlying)

    def risks(self) -> dict[str, UnderlyingRisk]:
        return {u: self.risk(u) for u in self.in_view()}

    # --- book and markets -----------------------------------------------------------------

    def markets(self) -> dict[str, MarketView]:
        return {u: _market(m) for u, m in sorted(self._core.book.markets.items())}

    def market(self, underlying: str) -> MarketView:
        return _market(self._core.book.market(underlying))

    def positions(self) -> tuple[PositionView, ...]:
        book = self._core.book
        return tuple(PositionView(sym, p.quantity, p.instrument, book.style_of(p.instrument))
                     for sym, p in sorted(book.positions.items()))

    def quantity(self, symbol: str) -> float:
        return self._core.book.quantity(symbol)

    def ensure_known(self, underlying: str) -> None:
        self._core.ensure_known(underlying)

    # --- hedging --------------------------------------------------------------------------

    def policies(self, now: float) -> dict[str, PolicyView]:
        core = self._core
        names = sorted(set(core.book.markets) | set(core.hedger.states))
        return {u: self.policy(u, now) for u in names}

    def policy(self, underlying: str, now: float) -> PolicyView:
        hedger = self._core.hedger
        st = hedger.states.get(underlying) or HedgeState(HedgePolicy())
        market = self._core.book.markets.get(underlying)
        stale = market is not None and is_stale(market.last_received, now,
                                                st.policy.stale_after_s)
        return PolicyView(
            underlying=underlying, policy=st.policy, band=st.band, net_delta=st.net_delta,
            pending=hedger.pending(underlying), halted=hedger.is_halted(underlying),
            stale=stale, reduce_only_reasons=tuple(sorted(st.reduce_only_reasons)),
            last_decision=st.last_decision, quiet=tuple(sorted(st.quiet.items())),
            breach=st.breach)

    def signal_remaining(self, signal_id: str) -> float | None:
        """What is still pending of a signal the engine remembers (None: unknown)."""
        p = self._core.hedger.signals.get(signal_id)
        return None if p is None else p.remaining

    def system_halt(self) -> str | None:
        return self._core.hedger.system_halt

    # --- P&L ------------------------------------------------------------------------------

    def pnl_underlyings(self) -> list[str]:
        return sorted(set(self.in_view()) | set(self._pnl.underlyings()))

    def pnl(self, underlying: str) -> dict[str, Any]:
        """One underlying's P&L figures (plain $ floats, `as_of` epoch s); UnknownSymbol
        when it is neither in the risk view nor held today."""
        if underlying not in self._core.book.markets and underlying not in set(
                self._pnl.underlyings()):
            self.risk(underlying)  # raises UnknownSymbol when not in the view either
        return self._pnl.underlying(underlying, self._risk_or_blank(underlying))

    def pnl_all(self) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        """Every underlying's figures (`explain` up to each one's last closed interval) and
        their totals."""
        per = {u: self._pnl.underlying(u, self._risk_or_blank(u), open_explain=False)
               for u in self.pnl_underlyings()}
        return per, totals(per)

    def pnl_positions(self, underlying: str) -> list[dict[str, Any]]:
        return self._pnl.positions(underlying, self._risk_or_blank(underlying))

    def pnl_total(self, underlying: str) -> float | None:
        """The underlying's P&L in $ (what the risk view shows beside its risk)."""
        pnl: float | None = self._pnl.underlying(
            underlying, self._risk_or_blank(underlying), with_explain=False)["pnl"]
        return pnl

    def pnl_history(self, days: int) -> list[dict[str, Any]]:
        return list(self._core.pnl.history[-days:]) if days > 0 else []

    def pnl_day(self) -> tuple[int, float | None]:
        return self._core.pnl.day, self._core.pnl.day_start

    def pnl_marks(self, unmarked_only: bool) -> tuple[tuple[str, str, float], ...]:
        """The values now of the holdings (of those without a mark): a roll's, or a load's
        marks left to the model."""
        return marks_now(self._pnl, self._core.risk, unmarked_only)

    def pnl_unmarked(self) -> bool:
        """True when a load left marks to the model on an underlying now valued."""
        risk = self._core.risk
        return any((r := risk.get(u)) is not None and r.valued for u in self._core.pnl.unmarked)

    def _risk_or_blank(self, underlying: str) -> UnderlyingRisk:
        r = self._core.risk.get(underlying)
        if r is not None:
            return r
        if underlying in self._core.book.markets or self._core.book.has_positions(underlying):
            return self._core.value(underlying)
        return UnderlyingRisk(underlying, None, None, None, None, None, None, None, 0.0, 0.0,
                              0.0, unpriced="no market parameters")

    # --- advice ---------------------------------------------------------------------------

    def options_plan(self, underlying: str, candidates: list[dict[str, Any]],
                     gamma: float | None, vega: float | None,
                     max_contracts: float | None) -> dict[str, Any]:
        """Advisory (nothing is published): see `app.engine.advice.options_plan`."""
        self._core.ensure_known(underlying)
        return advice.options_plan(self._core, underlying, candidates, gamma, vega,
                                   max_contracts)


def _market(m: Any) -> MarketView:
    last = None if m.last_tick_ts is None else LastTick(m.last_tick_ts, m.spot, m.bid, m.ask)
    return MarketView(
        symbol=m.symbol, spot=m.spot, rate=m.rate, div_yield=m.div_yield, vol=m.vol,
        type="future" if m.is_future else (m.declared_type or "stock"), hedge=m.hedge,
        max_jump_pct=m.max_jump_pct, confirm_ticks=m.confirm_ticks, as_of=m.as_of,
        last_tick=last, option_style=m.option_style, dividends=m.dividends,
        mark_source=m.mark_source)

