"""Domain objects: stdlib only. Instruments, events, the clock."""

from app.domain.clock import Clock, ManualClock, ShiftedClock, WallClock
from app.domain.convertible import ConvertibleSpec
from app.domain.event import Fill, Tick
from app.domain.hedge import HedgeRequest, HedgeSpec
from app.domain.instrument import (
    Instrument,
    InstrumentType,
    canonical_symbol,
    ex_time_from,
    expiry_from,
    instrument_from_fields,
    looks_like_occ,
    parse_occ,
)
from app.domain.timefmt import iso_utc, parse_ts

__all__ = [
    "Clock",
    "ConvertibleSpec",
    "Fill",
    "HedgeRequest",
    "HedgeSpec",
    "Instrument",
    "InstrumentType",
    "ManualClock",
    "ShiftedClock",
    "Tick",
    "WallClock",
    "canonical_symbol",
    "ex_time_from",
    "expiry_from",
    "instrument_from_fields",
    "iso_utc",
    "looks_like_occ",
    "parse_occ",
    "parse_ts",
]
