"""The core's read side: immutable views of risk, positions, markets and policies.

Routes, WebSocket feeds and the egress read through a `ReadModel` and never touch the core's
mutable parts. Views are built on demand from the single writer's state — the event loop is
one thread, so a view is always consistent — and are frozen: a reader may keep one as long as
it likes. Their JSON is built in one place per message, `app.engine.views`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.book import UnderlyingRisk
from app.book.vols import SurfaceConfig
from app.domain import HedgeSpec, Instrument
from app.engine import advice, scenarios, surface_reads, surfaces
from app.engine.pnl_figures import PnlFigures, marks_now, totals
from app.engine.scenarios import ScenarioRequest as ScenarioRequest
from app.errors import UnknownSymbol
from app.hedging import HedgePolicy, HedgeState
from app.hedging.rails import is_stale
from app.surface import Surface

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
    beta: float = 1.0
    benchmark: str | None = None
    price_scan_pct: float = 15.0
    vol_scan: float = 0.04
    surface: SurfaceConfig | None = None
    mark_source: str = "theo"


@dataclass(frozen=True, slots=True)
class SurfaceView:
    """One underlying's surface as in force: its settings, the surface in use (None until a
    fit is accepted or the desk puts one), where it came from, its lock, the last fit's report
    and the fits not swapped in by reason."""

    underlying: str
    config: SurfaceConfig
    surface: Surface | None
    as_of: float | None
    version: int
    locked: bool
    source: str | None
    report: dict[str, Any] | None
    rejected: tuple[tuple[str, int], ...]
    fitting: bool
    quotes: int
    new_quotes: int
    vega_by_expiry: tuple[float, ...] | None = None  # $ per vol point per node expiry


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

    # --- surfaces -------------------------------------------------------------------------

    def surface(self, underlying: str) -> SurfaceView:
        """UnknownSymbol for an unknown underlying, or one without `surface` settings."""
        st = self._core.book.market(underlying).surface
        if st is None:
            raise UnknownSymbol("surface", underlying)
        return SurfaceView(underlying, st.config, st.surface, st.as_of, st.version, st.locked,
                           st.source, st.report, tuple(sorted(st.rejected.items())),
                           st.fitting, len(st.quotes), st.new_quotes,
                           _maybe_tuple(surface_reads.vega_by_expiry(self._core, underlying)))

    def surface_grid(self, underlying: str, strikes: list[float] | None,
                     expiries: list[float] | None) -> dict[str, Any]:
        market = self._core.book.market(underlying)
        return surface_reads.grid(underlying, market, strikes, expiries)

    def desk_surface(self, underlying: str, model: str, expiries: list[dict[str, Any]],
                     ssvi: dict[str, float] | None, spot: float | None,
                     as_of: float) -> Surface:
        """A desk's surface resolved against the underlying (its spot and forwards) and
        validated: see `app.engine.surface_reads.desk_surface`."""
        surfaces.state_of(self._core, underlying)  # settings first (404, 409)
        return surface_reads.desk_surface(self._core.book.market(underlying), model,
                                          expiries, ssvi, spot, as_of)

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

    # --- scenarios ------------------------------------------------------------------------

    def scenarios(self, request: ScenarioRequest) -> dict[str, Any]:
        """Scenario P&L by full revaluation (nothing changes): see `app.engine.scenarios`."""
        core = self._core
        answer = scenarios.run(core.book, request, sorted(core.book.markets))
        stamps = [m.as_of for m in core.book.markets.values() if m.as_of is not None]
        return {"as_of": max(stamps) if stamps else None, **answer}

    # --- limits and alerts ------------------------------------------------------------------

    def limits(self) -> list[tuple[Any, Any]]:
        """(spec, a copy of its state) of every limit, in the order they were given."""
        limits = self._core.limits
        return [(spec, dataclasses.replace(limits.states[i])) for i, spec in limits.specs.items()]

    def alerts(self, after: int, limit: int) -> list[dict[str, Any]]:
        """The kept alerts with `seq > after`, newest first, at most `limit`."""
        out: list[dict[str, Any]] = []
        for a in reversed(self._core.limits.alerts):
            if a["seq"] <= after or len(out) >= limit:
                break
            out.append(a)
        return out

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


def _maybe_tuple(x: list[float] | None) -> tuple[float, ...] | None:
    return None if x is None else tuple(x)


def _market(m: Any) -> MarketView:
    last = None if m.last_tick_ts is None else LastTick(m.last_tick_ts, m.spot, m.bid, m.ask)
    return MarketView(
        symbol=m.symbol, spot=m.spot, rate=m.rate, div_yield=m.div_yield, vol=m.vol,
        type="future" if m.is_future else (m.declared_type or "stock"), hedge=m.hedge,
        max_jump_pct=m.max_jump_pct, confirm_ticks=m.confirm_ticks, as_of=m.as_of,
        last_tick=last, option_style=m.option_style, dividends=m.dividends, beta=m.beta,
        benchmark=m.benchmark, price_scan_pct=m.price_scan_pct, vol_scan=m.vol_scan,
        surface=None if m.surface is None else m.surface.config, mark_source=m.mark_source)

