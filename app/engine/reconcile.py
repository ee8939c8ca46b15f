"""Position reconciliation with the broker: differences put the underlyings they touch in
reduce-only until an admin accepts (optionally adopting the broker's quantities)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.domain import canonical_symbol, instrument_from_fields
from app.engine.occ import occ_or_invalid

if TYPE_CHECKING:
    from app.engine.core import Core

FLAG = "reconcile:"


def reconcile(core: Core, broker: dict[str, float]) -> list[dict[str, Any]]:
    """Compare the broker's positions with ours; returns the differences."""
    book = core.book
    theirs = {canonical_symbol(s): q for s, q in broker.items()}
    core.reconcile_broker = theirs
    ours = {s: p.quantity for s, p in book.positions.items()}
    diffs: list[dict[str, Any]] = []
    for sym in sorted(set(theirs) | {s for s, q in ours.items() if q}):
        mine, other = ours.get(sym, 0.0), theirs.get(sym, 0.0)
        if abs(mine - other) <= 1e-9:
            continue
        inst = book.instrument(sym) or occ_or_invalid(sym)
        underlyings = sorted(book.underlyings_touched_by(inst)) if inst else [sym]
        for u in underlyings:
            core.hedger.state(u).reduce_only_reasons.add(FLAG + sym)
        diffs.append({"symbol": sym, "ours": mine, "broker": other,
                      "difference": other - mine, "underlyings": underlyings})
    return diffs


def accept(core: Core, symbols: tuple[str, ...] | None, adopt: bool) -> list[str]:
    """Clear reduce-only for `symbols` (all flagged when None); `adopt` first sets our
    positions to the broker's. Returns the symbols cleared."""
    book, hedger = core.book, core.hedger
    flagged = {r.removeprefix(FLAG) for st in hedger.states.values()
               for r in st.reduce_only_reasons if r.startswith(FLAG)}
    wanted = flagged if symbols is None else {canonical_symbol(s) for s in symbols}
    for sym in sorted(wanted & flagged):
        if adopt and sym in core.reconcile_broker:
            inst = book.instrument(sym) or occ_or_invalid(sym) or instrument_from_fields(sym, {})
            gap = core.reconcile_broker[sym] - book.quantity(sym)
            if gap:
                book.apply_fill(inst, gap)
                core.dirty.update(book.underlyings_touched_by(inst))
        for st in hedger.states.values():
            st.reduce_only_reasons.discard(FLAG + sym)
    return sorted(wanted & flagged)
