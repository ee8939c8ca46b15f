"""Domain objects: stdlib only. Instruments, events, the clock."""

from app.domain.clock import Clock, ManualClock, WallClock
from app.domain.event import Fill, Tick
from app.domain.hedge import HedgeSpec
from app.domain.instrument import (
    Instrument,
    InstrumentType,
    canonical_symbol,
    expiry_from,
    instrument_from_fields,
    parse_occ,
)
from app.domain.timefmt import iso_utc, parse_ts

__all__ = [
    "Clock",
    "Fill",
    "HedgeSpec",
    "Instrument",
    "InstrumentType",
    "ManualClock",
    "Tick",
    "WallClock",
    "canonical_symbol",
    "expiry_from",
    "instrument_from_fields",
    "iso_utc",
    "parse_occ",
    "parse_ts",
]
