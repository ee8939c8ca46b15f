"""QuantLib as the oracle for American options (a test dependency, never a runtime one).

`reference_figures(book)` prices every option of a book with QdFpAmericanEngine and its
high-precision scheme, and its Greeks by differences of that engine: delta and gamma from
spot ± h and ± h/2 (h = 0.03 S σ√t: small against the option's own scale, large enough that
the engine's ~1e-10 noise stays near 1e-4 of gamma), each the Richardson extrapolation of
its two central differences (the O(h²) error alone would be ~6e-5 in delta, ~1e-3 of gamma
for out-of-the-money options); vega from σ(1 ± 3e-3) (an absolute bump is too coarse for a
5 % vol); rho from r ± 2e-4 and ± 4e-4, Richardson again (Black-76: the carry moves with
it; a one-sided second-order difference when r < 2e-4, to stay off negative rates); theta
from the maturity ± 1 day (QuantLib times are whole days; only used for t >= 60 days).

About 100 high-precision prices a second here (not the 5,000 of the accurate scheme): the
2,000 options need ~26,000 of them, half an hour on a busy machine. So the engine's prices
are stored in tests/pricing/data/quantlib_american_*.npz together with the book, the bumps
and the QuantLib version they were made for, recomputed when any of those differ, and every
run recomputes a random sample of them live and requires the stored ones to match — the
file can speed the test up but cannot vouch for figures QuantLib does not give.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import QuantLib as ql

TODAY = ql.Date(3, 6, 2024)
DAY_COUNT = ql.Actual365Fixed()
COLUMNS = ("price", "delta", "gamma", "vega", "rho", "theta")


def american_price(call: bool, spot: float, strike: float, rate: float, div: float, vol: float,
                   days: int) -> float:
    """QdFpAmericanEngine (high precision) price; t = days / 365."""
    ql.Settings.instance().evaluationDate = TODAY
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, div, DAY_COUNT)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, rate, DAY_COUNT)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(TODAY, ql.NullCalendar(), vol,
                                                           DAY_COUNT)))
    option = ql.VanillaOption(
        ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, strike),
        ql.AmericanExercise(TODAY, TODAY + int(days)))
    option.setPricingEngine(ql.QdFpAmericanEngine(process,
                                                  ql.QdFpAmericanEngine.highPrecisionScheme()))
    return float(option.NPV())


def _price_rows(book: dict[str, np.ndarray], black76: bool, family: str) -> list[list[float]]:
    """QuantLib prices for one family of bumps, one row per option."""
    rows = []
    for c, s, k, r, q, v, d in zip(book["is_call"], book["spot"], book["strike"], book["rate"],
                                   book["div_yield"], book["vol"], book["days"], strict=True):
        c, s, k, r, q, v, d = bool(c), float(s), float(k), float(r), float(q), float(v), int(d)

        def price(s_: float = s, r_: float = r, v_: float = v, d_: int = d,
                  c=c, k=k, q=q) -> float:
            return american_price(c, s_, k, r_, r_ if black76 else q, v_, d_)

        hs = SPOT_BUMP * s * v * np.sqrt(d / 365.0)
        if family == "price":
            rows.append([price()])
        elif family == "spot":
            rows.append([price(s_=s + hs), price(s_=s - hs), price(s_=s + hs / 2),
                         price(s_=s - hs / 2)])
        elif family == "vol":
            rows.append([price(v_=v * (1 + VOL_BUMP)), price(v_=v * (1 - VOL_BUMP))])
        elif family == "rate":
            # Forward differences (second order) near r = 0: no negative rates.
            rows.append([price(r_=r + RATE_BUMP), price(r_=r - RATE_BUMP)] if r >= RATE_BUMP
                        else [price(r_=r + RATE_BUMP), price(r_=r + 2 * RATE_BUMP)])
        elif family == "rate2":
            rows.append([price(r_=r + 2 * RATE_BUMP), price(r_=r - 2 * RATE_BUMP)]
                        if r >= 2 * RATE_BUMP else [np.nan, np.nan])
        else:  # time: maturity ± 1 day, only for t >= 60 days
            rows.append([price(d_=d - 1), price(d_=d + 1)] if d >= 60 else [np.nan, np.nan])
    return rows


SPOT_BUMP = 0.03  # × S σ√t
VOL_BUMP = 3e-3  # × σ
RATE_BUMP = 2e-4


FAMILIES = ("price", "spot", "vol", "rate", "rate2", "time")
DATA = Path(__file__).parent / "data"


def _data_file(black76: bool) -> Path:
    return DATA / f"quantlib_american_{'black76' if black76 else 'bsm'}.npz"


def stored_prices(book: dict[str, np.ndarray], black76: bool) -> dict[str, np.ndarray]:
    """The engine's prices for every family of bumps, from the stored file when it was made
    for this book, these bumps and this QuantLib version; computed (and stored) otherwise
    (about 13 prices per option: half an hour for 1,000 options on a busy machine)."""
    path = _data_file(black76)
    meta = np.array([ql.__version__, SPOT_BUMP, VOL_BUMP, RATE_BUMP], dtype=str)
    if path.exists():
        with np.load(path) as f:
            same = (np.array_equal(f["meta"], meta)
                    and all(np.array_equal(f["book_" + k], book[k]) for k in book))
            if same:
                return {name: f[name] for name in FAMILIES}
    prices = {name: np.array(_price_rows(book, black76, name), dtype=float)
              for name in FAMILIES}
    DATA.mkdir(exist_ok=True)
    np.savez_compressed(path, meta=meta, **prices,
                        **{"book_" + k: v for k, v in book.items()})
    return prices


def recomputed_sample(book: dict[str, np.ndarray], black76: bool,
                      index: np.ndarray) -> dict[str, np.ndarray]:
    """The same prices computed now for the options in `index` (the stored file's check)."""
    sub = {k: v[index] for k, v in book.items()}
    return {name: np.array(_price_rows(sub, black76, name), dtype=float) for name in FAMILIES}


def reference_figures(book: dict[str, np.ndarray], black76: bool,
                      prices: dict[str, np.ndarray]) -> np.ndarray:
    """float64[6, N]: COLUMNS of QuantLib's figures from its bumped prices."""
    p0 = prices["price"][:, 0]
    sp, vo, ra, ra2, ti = (prices[k] for k in ("spot", "vol", "rate", "rate2", "time"))
    s, v, t, r = book["spot"], book["vol"], book["days"] / 365.0, book["rate"]
    hs = SPOT_BUMP * s * v * np.sqrt(t)
    # Richardson of the h and h/2 central differences (error O(h^4)).
    d_h = (sp[:, 0] - sp[:, 1]) / (2 * hs)
    d_h2 = (sp[:, 2] - sp[:, 3]) / hs
    delta = (4 * d_h2 - d_h) / 3
    g_h = (sp[:, 0] - 2 * p0 + sp[:, 1]) / (hs * hs)
    g_h2 = (sp[:, 2] - 2 * p0 + sp[:, 3]) / (hs * hs / 4)
    gamma = (4 * g_h2 - g_h) / 3
    vega = (vo[:, 0] - vo[:, 1]) / (2 * VOL_BUMP * v)
    # Richardson of the h and 2h central differences: the price curves strongly in r where
    # the boundary at expiry K min(1, r/q) moves with it (r < q), the h difference alone
    # is off by ~1e-3 there. Near r = 0, one-sided second-order differences.
    d_1 = (ra[:, 0] - ra[:, 1]) / (2 * RATE_BUMP)
    d_2 = (ra2[:, 0] - ra2[:, 1]) / (4 * RATE_BUMP)
    rho = np.where(r >= 2 * RATE_BUMP, (4 * d_1 - d_2) / 3,
                   np.where(r >= RATE_BUMP, d_1,
                            (-3 * p0 + 4 * ra[:, 0] - ra[:, 1]) / (2 * RATE_BUMP)))
    theta = (ti[:, 0] - ti[:, 1]) / (2 / 365.0)
    return np.array([p0, delta, gamma, vega, rho, theta])
