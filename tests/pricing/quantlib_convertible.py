"""QuantLib's BinomialConvertibleEngine set up for the same bond as our ConvertibleTerms.

Dates: valuation 2025-01-15, Actual/365 Fixed times (so t years = round(365 t) days), coupons
on a Thirty/360 basis so that every period pays exactly face × rate / frequency, the coupon
dates every 12 / frequency months back from maturity (our terms get those dates' times as
`coupon_times`). A call period [t_from, t_to] becomes a callability on every day of it (QL
calls on dates only); prices are clean (QL adds accrued, as we do). QuantLib works per 100 of
face: the ratio is scaled by 100 / face and the value back by face / 100.
"""

from __future__ import annotations

import QuantLib as ql

from app.pricing.convertible import ConvertibleTerms

TODAY = ql.Date(15, 1, 2025)
DAY_COUNT = ql.Actual365Fixed()


def _date(t: float) -> ql.Date:
    return TODAY + round(365 * t)


def coupon_dates(maturity_years: float, frequency: int) -> list[ql.Date]:
    """The schedule QuantLib will use (after today), backwards from maturity."""
    mat = _date(maturity_years)
    sched = ql.Schedule(TODAY, mat, ql.Period(12 // frequency, ql.Months), ql.NullCalendar(),
                        ql.Unadjusted, ql.Unadjusted, ql.DateGeneration.Backward, False)
    return [d for d in sched if d > TODAY]


def matching_terms(**fields: object) -> ConvertibleTerms:
    """ConvertibleTerms whose maturity and coupon dates fall on QuantLib's days."""
    maturity = round(365 * float(fields["maturity"])) / 365.0  # type: ignore[arg-type]
    fields["maturity"] = maturity
    if float(fields.get("coupon_rate", 0.0)) > 0.0:  # type: ignore[arg-type]
        freq = int(fields.get("coupon_frequency", 2))  # type: ignore[call-overload]
        dates = coupon_dates(maturity, freq)
        first = ql.Date(dates[0].dayOfMonth(), dates[0].month(), dates[0].year())
        prev = first - ql.Period(12 // freq, ql.Months)
        fields["coupon_times"] = tuple([(prev - TODAY) / 365.0]
                                       + [(d - TODAY) / 365.0 for d in dates])
    return ConvertibleTerms(**fields)  # type: ignore[arg-type]


def quantlib_price(terms: ConvertibleTerms, spot: float, vol: float, rate: float,
                   div_yield: float, credit_spread: float, steps: int,
                   tree: str = "crr") -> float:
    """Mean of the engine's values at `steps` and `steps + 1` (it oscillates odd / even)."""
    ql.Settings.instance().evaluationDate = TODAY
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, div_yield, DAY_COUNT)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, rate, DAY_COUNT)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(TODAY, ql.NullCalendar(), vol,
                                                           DAY_COUNT)))
    mat = _date(terms.maturity)
    scale = 100.0 / terms.face
    callability = ql.CallabilitySchedule()
    for t_from, t_to, price, trigger in terms.call_schedule:
        day = _date(max(t_from, 0.0))
        while day <= _date(t_to):
            bond_price = ql.BondPrice(price * scale, ql.BondPrice.Clean)
            if trigger > 0.0:
                callability.append(ql.SoftCallability(bond_price, day, trigger))
            else:
                callability.append(ql.Callability(bond_price, ql.Callability.Call, day))
            day += 1
    for t, price in terms.put_schedule:
        callability.append(ql.Callability(ql.BondPrice(price * scale, ql.BondPrice.Clean),
                                          ql.Callability.Put, _date(t)))
    exercise = ql.AmericanExercise(TODAY, mat)
    ratio = terms.conversion_ratio * scale
    redemption = terms.redemption_amount * scale
    if terms.coupon_rate > 0.0:
        sched = ql.Schedule(TODAY, mat, ql.Period(12 // terms.coupon_frequency, ql.Months),
                            ql.NullCalendar(), ql.Unadjusted, ql.Unadjusted,
                            ql.DateGeneration.Backward, False)
        bond = ql.ConvertibleFixedCouponBond(exercise, ratio, callability, TODAY, 0,
                                             [terms.coupon_rate],
                                             ql.Thirty360(ql.Thirty360.BondBasis), sched,
                                             redemption)
    else:
        sched = ql.Schedule(TODAY, mat, ql.Period(ql.Once), ql.NullCalendar(), ql.Unadjusted,
                            ql.Unadjusted, ql.DateGeneration.Backward, False)
        bond = ql.ConvertibleZeroCouponBond(exercise, ratio, callability, TODAY, 0, DAY_COUNT,
                                            sched, redemption)
    values = []
    for n in (steps, steps + 1):
        bond.setPricingEngine(ql.BinomialConvertibleEngine(
            process, tree, n, ql.QuoteHandle(ql.SimpleQuote(credit_spread))))
        values.append(bond.NPV())
    return 0.5 * (values[0] + values[1]) / scale
