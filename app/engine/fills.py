"""What a fill is of: a `NewFill` from the edge resolved against the book into the
`RecordFill` that is journaled — or refused before anything is written."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.domain import Instrument, canonical_symbol, instrument_from_fields
from app.engine.commands import NewFill, RecordFill
from app.errors import InvalidInput, UnknownSymbol
from app.hedging import PendingOrder

if TYPE_CHECKING:
    from app.engine.core import Core


def resolve_fill(core: Core, new: NewFill) -> RecordFill:
    """The instrument a fill names. A known symbol is the book's instrument (fields the fill
    gives must agree with it: 422 naming the first that does not); an unknown one must define
    itself — instrument fields or an OCC symbol — or be an underlying or a hedge instrument the
    book is configured with; a bare unknown symbol is UnknownSymbol (404). A new definition may
    not contradict a hedge's explicit multiplier; a `signal_id` must name a signal for this
    very instrument (422 naming `signal_id`)."""
    fill = new.fill
    book = core.book
    known = book.instrument(fill.symbol)
    inst: Instrument
    if known is not None:
        if new.defined is not None and new.given:
            check_agrees(known, new.defined, new.given)
        inst = known
    elif new.defined is not None:
        check_not_on_an_option(core, new.defined, "underlying")
        inst = new.defined
    elif fill.symbol in book.markets or fill.symbol in book.hedge_users:
        inst = instrument_from_fields(fill.symbol, {})
    else:
        raise UnknownSymbol("symbol", fill.symbol)
    if known is None:
        book.check_definitions([("multiplier", inst)])
    signal = core.hedger.signals.get(fill.signal_id) if fill.signal_id else None
    if signal is not None and signal.instrument != canonical_symbol(inst.symbol):
        raise InvalidInput("signal_id", f"the signal is for {signal.instrument!r}, not "
                           f"{canonical_symbol(inst.symbol)!r}")
    return RecordFill(fill, inst, reference(core, inst, signal))


def reference(core: Core, inst: Instrument, signal: PendingOrder | None) -> float | None:
    """What P&L measures a fill's price against: an option's theo in the latest risk
    snapshot of its underlying (None when the option is new to the book or not valued);
    the spot in the signal for a fill of a signal whose instrument is its underlying (shares);
    None otherwise."""
    if inst.is_option:
        risk = core.risk.get(inst.underlying)
        group = core.book.groups.get(inst.underlying)
        if risk is None or risk.options is None or group is None or not risk.valued:
            return None
        i = group.index.get(canonical_symbol(inst.symbol))
        if i is None or i >= len(risk.options.symbols):
            return None
        return float(risk.options.raw[0, i])
    if signal is not None and signal.spot is not None and inst.symbol == signal.underlying:
        return signal.spot
    return None


def check_not_on_an_option(core: Core, inst: Instrument, field: str) -> None:
    if not inst.is_linear:
        under = core.book.instrument(inst.underlying)
        if under is not None and not under.is_linear:
            raise InvalidInput(field, "an option's or a convertible's underlying cannot be an "
                               "option or a convertible")


def _field(inst: Instrument, name: str) -> object:
    """An instrument field by its name in §2 (a convertible's terms are on its spec)."""
    if hasattr(inst, name) or inst.convertible is None:
        return getattr(inst, name, None)
    return getattr(inst.convertible, name)


def check_agrees(known: Instrument, given: Instrument, fields: frozenset[str]) -> None:
    """Fields a fill gives must describe the instrument the book has under that symbol."""
    for name in sorted(fields):
        mine, theirs = _field(known, name), _field(given, name)
        if isinstance(mine, float) and isinstance(theirs, float):
            same = abs(mine - theirs) <= 1e-9 * max(abs(mine), 1.0)
        else:
            same = mine == theirs
        if not same:
            shown = getattr(mine, "value", mine)
            raise InvalidInput(name, f"contradicts the booked instrument {known.symbol!r} "
                               f"({name} {shown})")
