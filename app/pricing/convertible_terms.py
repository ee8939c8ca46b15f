"""The terms of a convertible bond, as the pricing kernels need them (plain floats, times in years).

Every time is in YEARS FROM THE VALUATION TIME (the caller converts dates: seconds to the date
/ (365 × 86,400), as for options). Events at or before 0 are in the past and ignored, except
the latest coupon time <= 0, which starts the current accrual period.

Conventions (per bond of `face`):
- Coupons: `face × coupon_rate / coupon_frequency` at each coupon time, paid to whoever holds
  the bond at that time (the cash part). Coupon times default to maturity, maturity − 1/f,
  maturity − 2/f, … (backwards from maturity every 1/f years); give `coupon_times` for a real
  schedule. Accrued interest is linear in time over the period: at t in (c_{k-1}, c_k],
  accrued = coupon × (t − c_{k-1}) / (c_k − c_{k-1}); 0 on a coupon date once it is paid.
- Call and put prices are CLEAN: the holder receives price + accrued interest. Conversion
  forfeits accrued interest (the US convention: no accrued on conversion).
- Redemption at maturity: `redemption` (default `face`) plus the coupon due at maturity, or
  `conversion_ratio × S` if the holder converts (converting at maturity forfeits that coupon).
- Call schedule: periods `(t_from, t_to, price)` or `(t_from, t_to, price, trigger)` during
  which the issuer may call at any time (a hard call; with `trigger` > 0 a soft call: callable
  only while S >= trigger × conversion price, the conversion price being face / ratio, as
  QuantLib's SoftCallability). When called the holder takes max(price + accrued, ratio × S).
  Periods may touch (one ends where the next starts) but not overlap.
- Put schedule: dates `(t, price)` at which the holder may sell the bond back for
  price + accrued.
- `credit_spread` is the issuer's spread over the risk-free rate, continuously compounded,
  applied to the cash part of the value (Tsiveriotis–Fernandes).

`ConvertibleTerms(...)` validates on construction: ValueError naming the field.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

__all__ = ["ConvertibleTerms"]

#: Times closer than this (years, ~3 ms) are the same time.
TIME_EPS = 1e-10


def _finite(name: str, value: object) -> float:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return x


def _positive(name: str, value: object) -> float:
    x = _finite(name, value)
    if x <= 0.0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return x


@dataclass(frozen=True, slots=True, kw_only=True)
class ConvertibleTerms:
    """One convertible bond (see the module docstring for every convention).

    conversion_ratio: shares received per bond on conversion (required, > 0).
    maturity: years from the valuation time to maturity (required; <= 0: matured, valued at
        max(redemption, ratio × S) with no time value).
    face: per bond (default 1,000). coupon_rate: annual, as a fraction of face (0.02 = 2 %).
    coupon_frequency: payments per year (1, 2, 4 or 12; ignored when coupon_rate is 0).
    credit_spread: continuous annual spread over the rate (>= 0; 0.03 = 300 bp).
    call_schedule: ((t_from, t_to, clean_price[, trigger]), ...), years from valuation.
    put_schedule: ((t, clean_price), ...), years from valuation.
    redemption: amount paid at maturity (default: face).
    coupon_times: explicit coupon times (years, increasing); default: backwards from maturity.
    """

    conversion_ratio: float = math.nan
    maturity: float = math.nan
    face: float = 1000.0
    coupon_rate: float = 0.0
    coupon_frequency: int = 2
    credit_spread: float = 0.0
    call_schedule: tuple[tuple[float, ...], ...] = ()
    put_schedule: tuple[tuple[float, float], ...] = ()
    redemption: float | None = None
    coupon_times: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.conversion_ratio, float) and math.isnan(self.conversion_ratio):
            raise ValueError("conversion_ratio is required (shares per bond, > 0)")
        if isinstance(self.maturity, float) and math.isnan(self.maturity):
            raise ValueError("maturity is required (years from the valuation time)")
        ratio = _positive("conversion_ratio", self.conversion_ratio)
        maturity = _finite("maturity", self.maturity)
        face = _positive("face", self.face)
        coupon_rate = _finite("coupon_rate", self.coupon_rate)
        if coupon_rate < 0.0:
            raise ValueError(f"coupon_rate must be >= 0, got {self.coupon_rate!r}")
        freq = self.coupon_frequency
        if coupon_rate > 0.0 and (isinstance(freq, bool) or freq not in (1, 2, 4, 12)):
            raise ValueError(f"coupon_frequency must be 1, 2, 4 or 12, got {freq!r}")
        spread = _finite("credit_spread", self.credit_spread)
        if spread < 0.0:
            raise ValueError(f"credit_spread must be >= 0, got {self.credit_spread!r}")
        redemption = None if self.redemption is None else _positive("redemption",
                                                                    self.redemption)
        calls = _calls(self.call_schedule, maturity)
        puts = _puts(self.put_schedule, maturity)
        coupons = None if self.coupon_times is None else _coupon_times(self.coupon_times,
                                                                       maturity)
        for name, value in (("conversion_ratio", ratio), ("maturity", maturity),
                            ("face", face), ("coupon_rate", coupon_rate),
                            ("credit_spread", spread), ("redemption", redemption),
                            ("call_schedule", calls), ("put_schedule", puts),
                            ("coupon_times", coupons)):
            object.__setattr__(self, name, value)

    @property
    def redemption_amount(self) -> float:
        """What the bond repays at maturity (before the last coupon): redemption or face."""
        return self.face if self.redemption is None else self.redemption

    @property
    def coupon_amount(self) -> float:
        """One coupon payment: face × coupon_rate / coupon_frequency (0 for a zero-coupon)."""
        if self.coupon_rate == 0.0:
            return 0.0
        return self.face * self.coupon_rate / self.coupon_frequency

    @property
    def conversion_price(self) -> float:
        """face / conversion_ratio: the stock price at which conversion is worth face."""
        return self.face / self.conversion_ratio

    def advanced(self, years: float) -> ConvertibleTerms:
        """The same bond `years` later: every time moved back by `years` (the coupon schedule
        made explicit, so accrual carries on; events now in the past are ignored by the
        pricer). For a caller that keeps times in years, e.g. a backtest."""
        start, future = self.coupon_schedule()
        coupons = None if self.coupon_rate == 0.0 else tuple(t - years for t in (start, *future))
        return replace(
            self, maturity=self.maturity - years,
            call_schedule=tuple((a - years, b - years, *rest)
                                for a, b, *rest in self.call_schedule),
            put_schedule=tuple((t - years, price) for t, price in self.put_schedule),
            coupon_times=coupons)

    def coupon_schedule(self) -> tuple[float, tuple[float, ...]]:
        """(accrual start of the current period, future coupon times in (0, maturity]).

        For a zero-coupon bond: (0.0, ()).
        """
        if self.coupon_rate == 0.0 or self.maturity <= 0.0:
            return 0.0, ()
        if self.coupon_times is not None:
            times = self.coupon_times
            future = tuple(t for t in times if t > TIME_EPS)
            past = [t for t in times if t <= TIME_EPS]
            if past:
                start = past[-1]
            elif len(future) >= 2:
                start = future[0] - (future[1] - future[0])
            elif future:
                start = future[0] - 1.0 / self.coupon_frequency
            else:
                start = 0.0
            return start, future
        step = 1.0 / self.coupon_frequency
        k = 0
        generated = []
        while self.maturity - k * step > TIME_EPS:
            generated.append(self.maturity - k * step)
            k += 1
        return self.maturity - k * step, tuple(reversed(generated))


def _calls(schedule: Sequence[Sequence[float]], maturity: float) -> tuple[tuple[float, ...], ...]:
    out = []
    for i, entry in enumerate(schedule):
        if isinstance(entry, str | bytes) or len(entry) not in (3, 4):
            raise ValueError(f"call_schedule[{i}] must be (t_from, t_to, price[, trigger]), "
                             f"got {entry!r}")
        t_from = _finite(f"call_schedule[{i}].t_from", entry[0])
        t_to = _finite(f"call_schedule[{i}].t_to", entry[1])
        price = _positive(f"call_schedule[{i}].price", entry[2])
        trigger = _finite(f"call_schedule[{i}].trigger", entry[3]) if len(entry) == 4 else 0.0
        if trigger < 0.0:
            raise ValueError(f"call_schedule[{i}].trigger must be >= 0, got {entry[3]!r}")
        if t_to < t_from:
            raise ValueError(f"call_schedule[{i}] ends before it starts ({t_from} > {t_to})")
        if t_to > maturity + TIME_EPS:
            raise ValueError(f"call_schedule[{i}] ends after maturity ({t_to} > {maturity})")
        out.append((t_from, t_to, price, trigger))
    out.sort()
    for a, b in itertools.pairwise(out):
        if b[0] < a[1] - TIME_EPS:
            raise ValueError(f"call_schedule periods overlap: [{a[0]}, {a[1]}] and "
                             f"[{b[0]}, {b[1]}]")
    return tuple(out)


def _puts(schedule: Sequence[Sequence[float]], maturity: float) -> tuple[tuple[float, float], ...]:
    out = []
    for i, entry in enumerate(schedule):
        if isinstance(entry, str | bytes) or len(entry) != 2:
            raise ValueError(f"put_schedule[{i}] must be (t, price), got {entry!r}")
        t = _finite(f"put_schedule[{i}].t", entry[0])
        price = _positive(f"put_schedule[{i}].price", entry[1])
        if t > maturity + TIME_EPS:
            raise ValueError(f"put_schedule[{i}] date is after maturity ({t} > {maturity})")
        out.append((t, price))
    out.sort()
    for a, b in itertools.pairwise(out):
        if b[0] - a[0] <= TIME_EPS:
            raise ValueError(f"put_schedule has two puts on the same date ({a[0]})")
    return tuple(out)


def _coupon_times(times: Sequence[float], maturity: float) -> tuple[float, ...]:
    out = tuple(_finite(f"coupon_times[{i}]", t) for i, t in enumerate(times))
    for a, b in itertools.pairwise(out):
        if b - a <= TIME_EPS:
            raise ValueError("coupon_times must be strictly increasing")
    if out and out[-1] > maturity + TIME_EPS:
        raise ValueError(f"coupon_times has a coupon after maturity ({out[-1]} > {maturity})")
    return out
