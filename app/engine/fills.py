"""What a fill is of: a `NewFill` from the edge resolved against the book into the
`RecordFill` that is journaled — or refused before anything is written."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from app.book.vols import StickyCache, option_vols
from app.domain import Instrument, canonical_symbol, instrument_from_fields
from app.domain.units import SECONDS_PER_YEAR
from app.engine.commands import NewFill, RecordFill
from app.errors import InvalidInput, UnknownSymbol
from app.hedging import PendingOrder
from app.pricing import greeks

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
        core.check_owner(new.defined.underlying)
        check_not_on_an_option(core, new.defined, "underlying")
        inst = new.defined
    elif fill.symbol in book.markets or fill.symbol in book.hedge_users:
        inst = instrument_from_fields(fill.symbol, {})
    else:
        core.check_owner_of_symbol(fill.symbol)
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
        i = None if group is None else group.index.get(canonical_symbol(inst.symbol))
        if risk is not None and risk.options is not None and risk.valued and i is not None \
                and i < len(risk.options.symbols):
            return float(risk.options.raw[0, i])
        return new_option_theo(core, inst)
    if signal is not None and signal.spot is not None and inst.symbol == signal.underlying:
        return signal.spot
    return None


def new_option_theo(core: Core, inst: Instrument) -> float | None:
    """The theo of an option the book does not value yet, priced as the book would: its
    quoted vol, else the surface's or the flat vol, at its underlying's spot and valuation
    time (None when the underlying has no spot)."""
    m = core.book.markets.get(inst.underlying)
    if m is None or m.spot is None or m.as_of is None or inst.expiry is None:
        return None
    sym = canonical_symbol(inst.symbol)
    strike, expiry = np.array([inst.strike]), np.array([inst.expiry])
    vol = option_vols(np.array([m.option_ivs.get(sym, np.nan)]),
                      np.array([m.option_tick_ts.get(sym, np.nan)]), m.vol, m.surface,
                      StickyCache(), strike, expiry, m.spot, m.as_of, m.rate, m.div_yield,
                      m.is_future).vol
    t = max(inst.expiry - m.as_of, 0.0) / SECONDS_PER_YEAR
    dividends = None if m.is_future else [
        ((ex - m.as_of) / SECONDS_PER_YEAR, amount) for ex, amount in m.dividends
        if ex > m.as_of] or None
    g = greeks(np.array([inst.is_call]), m.spot, strike, np.array([t]), vol, m.rate,
               m.div_yield, model="black76" if m.is_future else "bsm",
               style=core.book.style_of(inst), dividends=dividends)
    price = float(np.asarray(g["price"]).reshape(-1)[0])
    return price if np.isfinite(price) else None


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
