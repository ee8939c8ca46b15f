"""Instruments (CONTRACT §2): stock, call, put, future, convertible; OCC option symbols.

An expiry given as a date means 16:00 America/New_York on that date; a datetime is taken as
given (UTC when naive). Inside, expiries are epoch seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from app.domain.convertible import CONVERTIBLE_FIELDS, ConvertibleSpec, convertible_from_fields
from app.domain.timefmt import in_window, parse_ts

NEW_YORK = ZoneInfo("America/New_York")
EXPIRY_CLOSE = time(16, 0)
OPTION_MULTIPLIER = 100.0

# Root up to 6 characters (padded with spaces in the padded form), yymmdd, C/P, strike x 1000.
_OCC = re.compile(r"^(?P<root>[A-Z0-9.]{1,6}?) *(?P<ymd>\d{6})(?P<cp>[CP])(?P<strike>\d{8})$")


class InstrumentType(StrEnum):
    STOCK = "stock"
    CALL = "call"
    PUT = "put"
    FUTURE = "future"
    CONVERTIBLE = "convertible"

    @property
    def is_option(self) -> bool:
        return self in (InstrumentType.CALL, InstrumentType.PUT)


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    type: InstrumentType
    underlying: str
    strike: float | None = None
    expiry: float | None = None  # epoch seconds
    multiplier: float = 1.0
    style: str | None = None  # None: its underlying's option_style (european by default)
    convertible: ConvertibleSpec | None = None  # the terms of a convertible (quantity: bonds)

    @property
    def is_option(self) -> bool:
        return self.type.is_option

    @property
    def is_convertible(self) -> bool:
        return self.type is InstrumentType.CONVERTIBLE

    @property
    def is_linear(self) -> bool:
        """Stock or future: its delta is quantity × multiplier shares."""
        return self.type in (InstrumentType.STOCK, InstrumentType.FUTURE)

    @property
    def is_call(self) -> bool:
        return self.type is InstrumentType.CALL


def expiry_from(value: str | float | int | date | datetime, field: str = "expiry") -> float:
    """Epoch seconds of an expiry: a bare date is 16:00 New York on that date. Within the
    window of `timefmt` (1970 to before 2200), or ValueError naming `field`."""
    if isinstance(value, datetime):
        return parse_ts(value, field)
    if isinstance(value, date):
        return in_window(datetime.combine(value, EXPIRY_CLOSE, NEW_YORK).timestamp(), field)
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{field}: not an ISO-8601 date: {value!r}") from None
        return in_window(datetime.combine(day, EXPIRY_CLOSE, NEW_YORK).timestamp(), field)
    return parse_ts(value, field)


EX_DATE_TIME = time(0, 0)


def ex_time_from(value: str | float | int | date | datetime, field: str = "ex_date") -> float:
    """Epoch seconds at which a stock goes ex a dividend: a bare date is 00:00 New York on
    that date (the stock opens without it); a datetime is taken as given."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, EX_DATE_TIME, NEW_YORK).timestamp()
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{field}: not an ISO-8601 date: {value!r}") from None
        return datetime.combine(day, EX_DATE_TIME, NEW_YORK).timestamp()
    return expiry_from(value, field)


def parse_occ(symbol: str) -> Instrument | None:
    """An option on a stock from an OCC symbol (padded or not); None when the symbol does not
    have the OCC shape. A symbol with the shape but an impossible date or a zero strike is no
    option and no stock either: ValueError naming `symbol`."""
    m = _OCC.match(symbol.strip().upper())
    if m is None:
        return None
    ymd = m["ymd"]
    try:
        day = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
    except ValueError:
        raise ValueError(f"symbol: not a valid OCC symbol: no such date 20{ymd[:2]}-"
                         f"{ymd[2:4]}-{ymd[4:]}") from None
    strike = int(m["strike"]) / 1000.0
    if strike <= 0:
        raise ValueError("symbol: not a valid OCC symbol: the strike is 0")
    return Instrument(
        symbol=symbol,
        type=InstrumentType.CALL if m["cp"] == "C" else InstrumentType.PUT,
        underlying=m["root"],
        strike=strike,
        expiry=expiry_from(day),
        multiplier=OPTION_MULTIPLIER,
    )


def looks_like_occ(symbol: str) -> bool:
    """True when `symbol` has the shape of an OCC option symbol (valid or not)."""
    return _OCC.match(symbol.strip().upper()) is not None


def canonical_symbol(symbol: str) -> str:
    """The key the book files a symbol under: OCC symbols in their padded form, so the padded
    and unpadded spellings of one option are one position; any other id as given (stripped)."""
    text = symbol.strip()
    m = _OCC.match(text.upper())
    if m is None:
        return text
    return f"{m['root']:<6}{m['ymd']}{m['cp']}{m['strike']}"


def _positive(value: Any, field: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: must be a number") from None
    if not (x > 0 and x < float("inf")):
        raise ValueError(f"{field}: must be a finite number > 0")
    return x


def instrument_from_fields(symbol: str, fields: dict[str, Any]) -> Instrument:
    """Build an instrument from a symbol and optional fields (CONTRACT §2).

    The explicit fields win; an OCC symbol fills what is left out; a bare symbol with no
    fields is a stock whose underlying is itself. Raises ValueError naming the field.
    """
    symbol = symbol.strip()
    if not symbol:
        raise ValueError("symbol: must not be empty")
    occ = parse_occ(symbol)
    raw_type = fields.get("type")
    if raw_type is None:
        kind = occ.type if occ is not None else InstrumentType.STOCK
    else:
        try:
            kind = InstrumentType(str(raw_type).lower())
        except ValueError:
            raise ValueError("type: must be one of stock, call, put, future, "
                             "convertible") from None
    if kind is InstrumentType.CONVERTIBLE:
        return _convertible(symbol, fields)
    for name in CONVERTIBLE_FIELDS:
        if fields.get(name) is not None:
            raise ValueError(f"{name}: only for a convertible (type: convertible)")
    style = None if fields.get("style") is None else str(fields["style"]).lower()
    if style not in (None, "european", "american"):
        raise ValueError("style: must be european or american")

    if kind is InstrumentType.STOCK:
        underlying = str(fields.get("underlying") or symbol)
        mult = fields.get("multiplier")
        return Instrument(symbol, kind, underlying, None, None,
                          1.0 if mult is None else _positive(mult, "multiplier"), style)

    if kind is InstrumentType.FUTURE:
        if fields.get("multiplier") is None:
            raise ValueError("multiplier: required for a future")
        expiry = fields.get("expiry")
        return Instrument(
            symbol,
            kind,
            str(fields.get("underlying") or symbol),
            None,
            None if expiry is None else expiry_from(expiry),
            _positive(fields["multiplier"], "multiplier"),
            style,
        )

    # an option
    underlying_raw = fields.get("underlying") or (occ.underlying if occ else None)
    if not underlying_raw:
        raise ValueError("underlying: required for an option that is not an OCC symbol")
    if looks_like_occ(str(underlying_raw)):
        raise ValueError("underlying: an option's underlying cannot be an option")
    strike_raw = fields.get("strike", occ.strike if occ else None)
    if strike_raw is None:
        raise ValueError("strike: required for an option that is not an OCC symbol")
    expiry_raw = fields.get("expiry")
    if expiry_raw is not None:
        expiry = expiry_from(expiry_raw)
    elif occ is not None:
        expiry = occ.expiry
    else:
        raise ValueError("expiry: required for an option that is not an OCC symbol")
    mult = fields.get("multiplier")
    return Instrument(
        symbol,
        kind,
        str(underlying_raw),
        _positive(strike_raw, "strike"),
        expiry,
        OPTION_MULTIPLIER if mult is None else _positive(mult, "multiplier"),
        style,
    )


def _convertible(symbol: str, fields: dict[str, Any]) -> Instrument:
    """A convertible bond (app.domain.convertible): quantity in bonds, multiplier 1."""
    underlying = fields.get("underlying")
    if not underlying:
        raise ValueError("underlying: required for a convertible (the stock it converts into)")
    if looks_like_occ(str(underlying)):
        raise ValueError("underlying: a convertible's underlying cannot be an option")
    for name in ("strike", "expiry", "style"):
        if fields.get(name) is not None:
            raise ValueError(f"{name}: not a field of a convertible")
    mult = fields.get("multiplier")
    if mult is not None and _positive(mult, "multiplier") != 1.0:
        raise ValueError("multiplier: a convertible is counted in bonds (multiplier 1)")
    spec = convertible_from_fields(fields, expiry_from)
    return Instrument(symbol, InstrumentType.CONVERTIBLE, str(underlying), None, spec.maturity,
                      1.0, None, spec)
