"""Typed commands: what the edge asks of the core, parsed once, journaled and replayed as the
same types (the JSON of each lives in `app.engine.command_codec`).

A command is data: frozen, already validated at the edge. `Core.check(cmd)` refuses what the
book cannot take (before anything is journaled); `Core.execute(cmd)` applies it — live, and
again from the journal at start-up, so a restart rebuilds exactly what ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.book.vols import SurfaceConfig
from app.domain import Fill, HedgeRequest, Instrument, Tick
from app.engine.limits import LimitSpec
from app.errors import DynhedgeError
from app.hedging import HedgePolicy
from app.surface import Surface


@dataclass(frozen=True, slots=True)
class SetUnderlying:
    """PUT /v1/underlyings/{symbol}. `wall`: when it was set (the clock's now) — a `spot`
    values the underlying at that time until its first tick."""

    symbol: str
    rate: float
    div_yield: float
    vol: float
    wall: float
    spot: float | None = None
    hedge: HedgeRequest | None = None
    max_jump_pct: float = 10.0
    confirm_ticks: int = 3
    declared_type: str | None = None
    option_style: str = "european"  # for its options that give no style of their own
    dividends: tuple[tuple[float, float], ...] = ()  # (ex time epoch s, cash per share)
    beta: float = 1.0  # to `benchmark`: the beta-weighted delta (1.0: the underlying itself)
    benchmark: str | None = None
    price_scan_pct: float = 15.0  # the span16 scenarios' price scan range, % of spot
    vol_scan: float = 0.04  # and vol scan range, vol units (0.04 = 4 vol points)
    surface: SurfaceConfig | None = None  # None: no surface (quotes, else the flat vol)
    mark_source: str = "theo"  # how its options are marked for P&L: theo or mid


@dataclass(frozen=True, slots=True)
class SetSurface:
    """PUT /v1/surfaces/{underlying}: a desk's own surface (validated at the edge: free of
    static arbitrage), its slices' t in years from `as_of`; `surface` None changes only the
    lock. `locked` keeps refits off it until the desk says otherwise."""

    underlying: str
    surface: Surface | None
    as_of: float
    locked: bool = True


@dataclass(frozen=True, slots=True, eq=False)
class SurfaceFitted:
    """A refit from option quotes that passed its checks: swapped in whole (refused while
    the desk's surface is locked). `report` is the fit's report (GET /v1/surfaces)."""

    underlying: str
    surface: Surface
    as_of: float
    wall: float
    report: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PositionItem:
    instrument: Instrument
    quantity: float
    mark: float | None = None  # per-unit start-of-day price; None: the model value at the load


@dataclass(frozen=True, slots=True)
class LoadPositions:
    """PUT /v1/positions: the whole book, replacing what was there."""

    positions: tuple[PositionItem, ...]


@dataclass(frozen=True, slots=True)
class NewFill:
    """A fill as the edge parsed it, before the core knows what it is of: `defined` is the
    instrument its own fields or OCC symbol define (None for a bare symbol), `given` the
    instrument fields the client sent (checked against a booked instrument). `payload` is the
    fill as sent: the key that makes a repeat of an exec_id a duplicate, not a conflict."""

    fill: Fill
    defined: Instrument | None
    given: frozenset[str]
    payload: str


@dataclass(frozen=True, slots=True)
class RecordFill:
    """A fill the core took: the instrument resolved against the book. This is journaled."""

    fill: Fill
    instrument: Instrument
    # what the fill's price is measured against for P&L, resolved before it is journaled: an
    # option's theo at the fill, a hedge fill's signal spot (None: nothing to measure)
    reference: float | None = None


@dataclass(frozen=True, slots=True)
class BustFill:
    """Reverse an acknowledged fill (the broker busted it)."""

    original: RecordFill


@dataclass(frozen=True, slots=True)
class SetPolicy:
    underlying: str
    policy: HedgePolicy


@dataclass(frozen=True, slots=True)
class Halt:
    """Kill switch on: one underlying, or all (None)."""

    underlying: str | None = None


@dataclass(frozen=True, slots=True)
class Resume:
    underlying: str | None = None


@dataclass(frozen=True, slots=True)
class CancelSignal:
    signal_id: str


@dataclass(frozen=True, slots=True)
class SignalSent:
    """A signal that went out (journaled by the egress with its seq): its pending order comes
    back on replay. `expires_at` is wall-clock epoch seconds; `shares` underlying → units of
    the order; `counts` False for an order in another instrument (not in `pending`)."""

    id: str
    seq: int
    underlying: str
    instrument: str
    order_qty: float
    expires_at: float
    clipped: bool = False
    shares: tuple[tuple[str, float], ...] = ()
    counts: bool = True
    spot: float | None = None  # the signal's spot (None in records written before P&L)


@dataclass(frozen=True, slots=True)
class Reconcile:
    """The broker's positions (symbol, quantity) to compare with ours."""

    positions: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class AcceptReconcile:
    symbols: tuple[str, ...] | None = None  # None: every flagged symbol
    adopt: bool = False


@dataclass(frozen=True, slots=True)
class SetLimits:
    """PUT /v1/limits: every limit, replacing what was there."""

    limits: tuple[LimitSpec, ...]


@dataclass(frozen=True, slots=True, eq=False)
class LimitAlert:
    """An alert that went out (journaled by the runner): replayed, it rebuilds the state of
    its limit and the alert history (see `app.engine.limits`)."""

    alert: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SetMarks:
    """The start-of-day marks a load left to the model, as valued live right after it
    (journaled after the load, so a replay keeps the marks the desk saw): (underlying, symbol,
    per-unit price)."""

    marks: tuple[tuple[str, str, float], ...]


@dataclass(frozen=True, slots=True)
class RollDay:
    """Close the P&L day (POST /v1/pnl/roll): `marks` (underlying, symbol, per-unit value
    now) become the new start; `figures` is the day's P&L as it stood, kept in the history.
    Both are resolved before the command is journaled."""

    as_of: float
    marks: tuple[tuple[str, str, float], ...]
    figures: str  # the day's P&L view, JSON


@dataclass(frozen=True, slots=True)
class TickFrame:
    """A frame of ticks as the edge parsed it (not journaled: ticks are market state). The
    plain spot ticks — `{symbol, price, ts?}`, checked column by column — travel as columns:
    their positions in the frame (`index`, ascending), `symbol`, `price` and event time `ts`
    (the receive time where none was given). Every other item is in `others` at its position,
    parsed one by one: a Tick, or the error that rejects it. `received`: the server clock
    when the frame arrived."""

    received: float
    index: NDArray[np.intp]
    symbol: list[str]
    price: NDArray[np.float64]
    ts: NDArray[np.float64]
    others: list[tuple[int, Tick | DynhedgeError]]


Command = (SetUnderlying | LoadPositions | RecordFill | BustFill | SetPolicy | Halt | Resume
           | CancelSignal | SignalSent | Reconcile | AcceptReconcile | SetLimits | LimitAlert
           | SetSurface | SurfaceFitted | SetMarks | RollDay)

__all__ = [
    "AcceptReconcile",
    "BustFill",
    "CancelSignal",
    "Command",
    "Halt",
    "LimitAlert",
    "LimitSpec",
    "LoadPositions",
    "NewFill",
    "PositionItem",
    "Reconcile",
    "RecordFill",
    "Resume",
    "RollDay",
    "SetLimits",
    "SetMarks",
    "SetPolicy",
    "SetSurface",
    "SetUnderlying",
    "SignalSent",
    "SurfaceConfig",
    "SurfaceFitted",
    "TickFrame",
]
