"""Convertible bonds as instruments (CONTRACT §2, issue 16): their terms, in dates.

A position in a convertible is counted in bonds. The terms are kept as the desk gave them, in
epoch seconds (a bare date means 16:00 New York, like an expiry); the book turns them into
years from its valuation time when it prices (`app.book.convertibles`).

- `conversion_ratio`: shares received per bond (required, > 0);
- `maturity`: required; `face` per bond (default 1,000), repaid at maturity;
- `coupon_rate` (annual fraction of face, default 0) paid `coupon_frequency` times a year
  (1, 2, 4 or 12; default 2), on dates counted back from maturity;
- `credit_spread`: the issuer's spread over the rate (≥ 0, continuous, 0.03 = 300 bp);
- `call_schedule`: periods [from, to] (not overlapping, ending by maturity) in which the issuer
  may call at the clean `price` (+ accrued); an optional `trigger` > 0 makes it a soft call,
  callable only while the stock is at or above trigger × conversion price;
- `put_schedule`: dates (by maturity) on which the holder may put the bond back at the clean
  `price` (+ accrued).

`convertible_from_fields` raises ValueError("field: reason") naming the field (dotted inside
the schedules: `call_schedule.1.from`)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

FACE = 1000.0
FREQUENCIES = (1, 2, 4, 12)
#: the fields only a convertible has (the instrument fields of §2 that describe its terms)
CONVERTIBLE_FIELDS = ("face", "conversion_ratio", "coupon_rate", "coupon_frequency",
                      "maturity", "credit_spread", "call_schedule", "put_schedule")
MAX_SCHEDULE = 200  # call periods or put dates per bond


@dataclass(frozen=True, slots=True)
class ConvertibleSpec:
    """The terms of one convertible bond; times are epoch seconds.

    call_schedule: ((from, to, clean price, trigger), ...) sorted, not overlapping (trigger 0:
    a hard call); put_schedule: ((date, clean price), ...) sorted, one per date."""

    conversion_ratio: float
    maturity: float
    face: float = FACE
    coupon_rate: float = 0.0
    coupon_frequency: int = 2
    credit_spread: float = 0.0
    call_schedule: tuple[tuple[float, float, float, float], ...] = ()
    put_schedule: tuple[tuple[float, float], ...] = ()

    @property
    def conversion_price(self) -> float:
        """face / conversion_ratio: the stock price at which converting is worth face."""
        return self.face / self.conversion_ratio

    def record(self) -> dict[str, Any]:
        """The terms as plain JSON (the journal's and the snapshot's record)."""
        return {"face": self.face, "conversion_ratio": self.conversion_ratio,
                "coupon_rate": self.coupon_rate, "coupon_frequency": self.coupon_frequency,
                "maturity": self.maturity, "credit_spread": self.credit_spread,
                "call_schedule": [list(c) for c in self.call_schedule],
                "put_schedule": [list(p) for p in self.put_schedule]}

    @staticmethod
    def of_record(d: dict[str, Any]) -> ConvertibleSpec:
        return ConvertibleSpec(
            conversion_ratio=float(d["conversion_ratio"]), maturity=float(d["maturity"]),
            face=float(d.get("face", FACE)), coupon_rate=float(d.get("coupon_rate", 0.0)),
            coupon_frequency=int(d.get("coupon_frequency", 2)),
            credit_spread=float(d.get("credit_spread", 0.0)),
            call_schedule=tuple((float(a), float(b), float(c), float(t))
                                for a, b, c, t in d.get("call_schedule") or ()),
            put_schedule=tuple((float(a), float(b)) for a, b in d.get("put_schedule") or ()))


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{field}: must be a number")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: must be a number") from None
    if not math.isfinite(x):
        raise ValueError(f"{field}: must be finite")
    return x


def _positive(value: Any, field: str) -> float:
    x = _number(value, field)
    if x <= 0.0:
        raise ValueError(f"{field}: must be > 0")
    return x


def _non_negative(value: Any, field: str) -> float:
    x = _number(value, field)
    if x < 0.0:
        raise ValueError(f"{field}: must be >= 0")
    return x


def _items(value: Any, field: str) -> list[dict[str, Any]]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"{field}: must be a list")
    if len(value) > MAX_SCHEDULE:
        raise ValueError(f"{field}: at most {MAX_SCHEDULE} entries")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ValueError(f"{field}.{i}: must be an object")
    return list(value)


def convertible_from_fields(fields: dict[str, Any],
                            when: Callable[[Any, str], float]) -> ConvertibleSpec:
    """The terms a position's or a fill's fields give; `when(value, field)` turns a date or
    a time into epoch seconds (the instruments' `expiry_from`)."""
    if fields.get("conversion_ratio") is None:
        raise ValueError("conversion_ratio: required for a convertible (shares per bond)")
    if fields.get("maturity") is None:
        raise ValueError("maturity: required for a convertible")
    ratio = _positive(fields["conversion_ratio"], "conversion_ratio")
    maturity = when(fields["maturity"], "maturity")
    face = FACE if fields.get("face") is None else _positive(fields["face"], "face")
    coupon_rate = (0.0 if fields.get("coupon_rate") is None
                   else _non_negative(fields["coupon_rate"], "coupon_rate"))
    freq = fields.get("coupon_frequency")
    if freq is None:
        freq = 2
    elif isinstance(freq, bool) or freq not in FREQUENCIES:
        raise ValueError("coupon_frequency: must be 1, 2, 4 or 12 payments a year")
    spread = (0.0 if fields.get("credit_spread") is None
              else _non_negative(fields["credit_spread"], "credit_spread"))
    calls = _calls(fields.get("call_schedule") or [], maturity, when)
    puts = _puts(fields.get("put_schedule") or [], maturity, when)
    return ConvertibleSpec(ratio, maturity, face, coupon_rate, int(freq), spread, calls, puts)


def _calls(raw: Any, maturity: float,
           when: Callable[[Any, str], float]) -> tuple[tuple[float, float, float, float], ...]:
    out: list[tuple[float, float, float, float, int]] = []
    for i, item in enumerate(_items(raw, "call_schedule")):
        where = f"call_schedule.{i}"
        for key in ("from", "to", "price"):
            if item.get(key) is None:
                raise ValueError(f"{where}.{key}: required")
        start = when(item["from"], f"{where}.from")
        end = when(item["to"], f"{where}.to")
        price = _positive(item["price"], f"{where}.price")
        trigger = (0.0 if item.get("trigger") is None
                   else _non_negative(item["trigger"], f"{where}.trigger"))
        if end < start:
            raise ValueError(f"{where}.to: before its from")
        if end > maturity:
            raise ValueError(f"{where}.to: after maturity")
        out.append((start, end, price, trigger, i))
    out.sort()
    for a, b in itertools.pairwise(out):
        if b[0] < a[1]:
            raise ValueError(f"call_schedule.{b[4]}: overlaps call_schedule.{a[4]} (periods "
                             "may touch, not overlap)")
    return tuple((s, e, p, t) for s, e, p, t, _ in out)


def _puts(raw: Any, maturity: float,
          when: Callable[[Any, str], float]) -> tuple[tuple[float, float], ...]:
    out: list[tuple[float, float, int]] = []
    for i, item in enumerate(_items(raw, "put_schedule")):
        where = f"put_schedule.{i}"
        for key in ("date", "price"):
            if item.get(key) is None:
                raise ValueError(f"{where}.{key}: required")
        day = when(item["date"], f"{where}.date")
        if day > maturity:
            raise ValueError(f"{where}.date: after maturity")
        out.append((day, _positive(item["price"], f"{where}.price"), i))
    out.sort()
    for a, b in itertools.pairwise(out):
        if b[0] == a[0]:
            raise ValueError(f"put_schedule.{b[2]}.date: the same date as put_schedule.{a[2]}")
    return tuple((d, p) for d, p, _ in out)
