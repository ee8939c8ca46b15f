"""QuantLib's FdBlackScholesVanillaEngine with cash dividends (Spot model) as the oracle.

Two fine grids (time × space = 600 × 600 and 1200 × 1200, four damping steps, Douglas
scheme) Richardson-extrapolated for second order: (4 V_fine - V_coarse) / 3, the same for
delta. QuantLib 1.44 takes the dividends as a DividendVector(dates, amounts) passed to the
engine (the instrument's own dividend argument is gone). Dates: whole days from TODAY, so the
ex time in years is days / 365 (Actual/365 Fixed). Cached in pytest's cache like
ql_american (about a second per option here).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import QuantLib as ql

TODAY = ql.Date(3, 6, 2024)
DAY_COUNT = ql.Actual365Fixed()
GRIDS = (600, 1200)


def fd_price_delta(call: bool, spot: float, strike: float, rate: float, div: float, vol: float,
                   days: int, div_days: list[int], div_amounts: list[float], american: bool,
                   points: int) -> tuple[float, float]:
    ql.Settings.instance().evaluationDate = TODAY
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, div, DAY_COUNT)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, rate, DAY_COUNT)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(TODAY, ql.NullCalendar(), vol,
                                                           DAY_COUNT)))
    maturity = TODAY + int(days)
    exercise = (ql.AmericanExercise(TODAY, maturity) if american
                else ql.EuropeanExercise(maturity))
    option = ql.VanillaOption(
        ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, strike), exercise)
    dividends = ql.DividendVector([TODAY + int(d) for d in div_days], list(div_amounts))
    engine = ql.FdBlackScholesVanillaEngine(
        process, dividends, points, points, 4, ql.FdmSchemeDesc.Douglas(), False,
        -ql.nullDouble(), ql.FdBlackScholesVanillaEngine.Spot)
    option.setPricingEngine(engine)
    return float(option.NPV()), float(option.delta())


def extrapolated(case: dict) -> tuple[float, float]:
    coarse, fine = (fd_price_delta(points=n, **case) for n in GRIDS)
    return (4 * fine[0] - coarse[0]) / 3, (4 * fine[1] - coarse[1]) / 3


def reference(cases: list[dict], cache) -> np.ndarray:
    """float64[N, 2]: (price, delta) per case, cached."""
    h = hashlib.sha256(f"{ql.__version__}|{GRIDS}|{json.dumps(cases)}".encode())
    key = "dynhedge/quantlib-dividends/" + h.hexdigest()[:32]
    stored = cache.get(key, None) if cache is not None else None
    if stored is not None:
        return np.array(stored, dtype=float)
    out = np.array([extrapolated(c) for c in cases], dtype=float)
    if cache is not None:
        cache.set(key, out.tolist())
    return out
