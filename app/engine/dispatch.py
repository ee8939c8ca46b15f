"""The core's two entry points for commands: `check` (refuse before anything is journaled)
and `execute` (apply — live, and again from the journal at start-up)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from app.domain import HedgeRequest, canonical_symbol
from app.engine import reconcile, surfaces
from app.engine.commands import (
    AcceptReconcile,
    BustFill,
    CancelSignal,
    Command,
    Halt,
    LimitAlert,
    LoadPositions,
    Reconcile,
    RecordFill,
    Resume,
    RollDay,
    SetLimits,
    SetMarks,
    SetPolicy,
    SetSurface,
    SetUnderlying,
    SignalSent,
    SurfaceFitted,
)
from app.engine.fills import check_not_on_an_option
from app.errors import InvalidInput, UnknownSymbol
from app.hedging import PendingOrder

if TYPE_CHECKING:
    from app.engine.core import Core


def check(core: Core, cmd: Command) -> None:
    """Raise what `execute(core, cmd)` must not be asked to do (InvalidInput, UnknownSymbol);
    a refused command is never journaled. Fills are checked by `fills.resolve_fill`."""
    match cmd:
        case SetUnderlying():
            core.check_owner(cmd.symbol)
            core.book.check_hedge(cmd.symbol, cmd.hedge or HedgeRequest())
        case LoadPositions():
            options = {canonical_symbol(p.instrument.symbol) for p in cmd.positions
                       if not p.instrument.is_linear}
            for n, p in enumerate(cmd.positions):
                core.check_owner(p.instrument.underlying)
                if not p.instrument.is_linear and p.instrument.underlying in options:
                    raise InvalidInput(f"{n}.underlying", "an option's or a convertible's "
                                       "underlying cannot be an option or a convertible")
                check_not_on_an_option(core, p.instrument, f"{n}.underlying")
            core.book.check_definitions([(f"{n}.multiplier", p.instrument)
                                         for n, p in enumerate(cmd.positions)])
        case SetPolicy():
            core.ensure_known(cmd.underlying)
        case Halt() | Resume():
            if cmd.underlying is not None:
                core.ensure_known(cmd.underlying)
        case SetLimits():
            core.limits.check_specs(cmd.limits, core)
        case CancelSignal():
            if cmd.signal_id not in core.hedger.signals:
                raise UnknownSymbol("signal", cmd.signal_id)
        case SetSurface() | SurfaceFitted():
            surfaces.check(core, cmd)
        case _:
            return


def execute(core: Core, cmd: Command) -> Any:
    """Apply a command to the core; its outcome (what the route answers) is returned."""
    match cmd:
        case SetUnderlying():
            return core.set_underlying(
                cmd.symbol, rate=cmd.rate, div_yield=cmd.div_yield, vol=cmd.vol,
                spot=cmd.spot, hedge=cmd.hedge, max_jump_pct=cmd.max_jump_pct,
                confirm_ticks=cmd.confirm_ticks, declared_type=cmd.declared_type,
                as_of=cmd.wall, option_style=cmd.option_style, dividends=cmd.dividends,
                beta=cmd.beta, benchmark=cmd.benchmark, price_scan_pct=cmd.price_scan_pct,
                vol_scan=cmd.vol_scan, surface=cmd.surface,
                mark_source=cmd.mark_source)
        case SetSurface():
            return surfaces.set_surface(core, cmd)
        case SurfaceFitted():
            return surfaces.fitted(core, cmd)
        case LoadPositions():
            return core.load_positions(
                [(p.instrument, p.quantity) for p in cmd.positions],
                {canonical_symbol(p.instrument.symbol): p.mark for p in cmd.positions
                 if p.mark is not None})
        case RecordFill():
            return core.apply_fill(cmd.fill, cmd.instrument, cmd.reference)
        case SetMarks():
            return core.pnl.set_marks(cmd.marks)
        case RollDay():
            return core.pnl.roll(cmd.as_of, cmd.marks, json.loads(cmd.figures))
        case BustFill():
            return core.bust_fill(cmd.original.fill, cmd.original.instrument)
        case SetPolicy():
            return core.set_policy(cmd.underlying, cmd.policy)
        case Halt():
            return core.halt(cmd.underlying)
        case Resume():
            return core.resume(cmd.underlying)
        case CancelSignal():
            return core.cancel(cmd.signal_id)
        case SignalSent():
            core.hedger.remember(PendingOrder(
                signal_id=cmd.id, underlying=cmd.underlying, instrument=cmd.instrument,
                remaining=cmd.order_qty, expires_at=cmd.expires_at, clipped=cmd.clipped,
                shares=dict(cmd.shares), counts=cmd.counts, spot=cmd.spot))
            core.hedger.next_seq = max(core.hedger.next_seq, cmd.seq + 1)
            return None
        case Reconcile():
            return reconcile.reconcile(core, dict(cmd.positions))
        case AcceptReconcile():
            core.pnl.option_version += 1  # adopted quantities: explain closes its interval
            return reconcile.accept(core, cmd.symbols, cmd.adopt)
        case SetLimits():
            core.limits.configure(cmd.limits, core)
            core.dirty.update(core.book.markets)  # judged at once, by the recompute after
            return None
        case LimitAlert():
            core.limits.restore(cmd.alert, core)
            return None
    raise TypeError(f"not a command: {cmd!r}")
