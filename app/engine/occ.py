"""OCC option symbols at the engine's edge: a malformed one is refused naming `symbol`."""

from __future__ import annotations

from app.domain import Instrument, parse_occ
from app.errors import InvalidInput


def occ_or_invalid(symbol: str) -> Instrument | None:
    """The option an OCC symbol defines, None when the symbol is not one; a symbol with the
    OCC shape but an impossible date or a zero strike is InvalidInput naming `symbol`."""
    try:
        return parse_occ(symbol)
    except ValueError as exc:
        raise InvalidInput.from_value_error(exc) from None
