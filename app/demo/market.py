"""The demo's simulated market: a few underlyings moving by geometric Brownian motion and a
market maker's book of listed options on them, as the bodies the service's API takes.

Prices move in *market time*, `speed` market seconds per wall-clock second, so a band hedge
has something to do within a short demo; valuation (tick `ts`) stays on the wall clock, as
in production. Everything random comes from one seeded numpy generator: the same seed gives
the same underlyings, the same book and the same price path (per step).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

SECONDS_PER_YEAR = 365 * 86_400  # the contract's year (CONTRACT §1)
DESK_TICKERS = ("XYZ", "ABC", "QRS", "MNO", "DEF", "JKL", "TUV", "GHI")
MAX_UNDERLYINGS = 50
OPTION_MULTIPLIER = 100
MIN_BAND_SHARES = 100.0  # never tighter than one round lot: a flat-gamma book still hedges
RATE = 0.04  # continuous, per year
# each underlying's volatility surface, fitted by the service from the quotes of its chain
# (app.demo.smile): the smile moves with the forward, refitted every 5 s
SURFACE_SETTINGS = {"model": "svi", "stickiness": "moneyness", "refit_s": 5.0,
                    "min_new_quotes": 500, "quote_max_age_s": 60.0}


@dataclass(frozen=True, slots=True)
class UnderlyingSpec:
    """One simulated stock. `spot` in $, `vol`, `rate` and `div_yield` per year, continuous."""

    symbol: str
    spot: float
    vol: float
    rate: float
    div_yield: float

    def as_body(self) -> dict[str, Any]:
        """The `PUT /v1/underlyings/{symbol}` body: it is valued at `spot` until its first
        tick; its options off the surface the service fits from their quotes."""
        return {"spot": self.spot, "rate": self.rate, "div_yield": self.div_yield,
                "vol": self.vol, "surface": dict(SURFACE_SETTINGS)}


def ticker(i: int) -> str:
    """The i-th demo ticker: desk-looking names first, then SIM8, SIM9, … (OCC roots ≤ 6)."""
    return DESK_TICKERS[i] if i < len(DESK_TICKERS) else f"SIM{i}"


def make_underlyings(rng: np.random.Generator, count: int) -> list[UnderlyingSpec]:
    """`count` underlyings with spots of $40–$400 and vols of 18 %–55 %."""
    if not 1 <= count <= MAX_UNDERLYINGS:
        raise ValueError(f"underlyings: between 1 and {MAX_UNDERLYINGS}, got {count}")
    specs = []
    for i in range(count):
        spot = round(float(np.exp(rng.uniform(np.log(40.0), np.log(400.0)))), 2)
        vol = round(float(rng.uniform(0.18, 0.55)), 3)
        div_yield = float(rng.choice([0.0, 0.005, 0.01, 0.02]))
        specs.append(UnderlyingSpec(ticker(i), spot, vol, RATE, div_yield))
    return specs


def third_friday(year: int, month: int) -> date:
    """The standard monthly listed-option expiry date."""
    first = date(year, month, 1)
    to_friday = (calendar.FRIDAY - first.weekday()) % 7
    return first + timedelta(days=to_friday + 14)


def monthly_expiries(today: date, count: int = 6, min_days: int = 7) -> list[date]:
    """The next `count` monthly expiries at least `min_days` after `today`."""
    out: list[date] = []
    year, month = today.year, today.month
    while len(out) < count:
        day = third_friday(year, month)
        if (day - today).days >= min_days:
            out.append(day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def strike_step(spot: float) -> float:
    """The listed strike grid near `spot`, $."""
    if spot < 25:
        return 1.0
    if spot < 100:
        return 2.5
    if spot < 250:
        return 5.0
    return 10.0


def occ_symbol(root: str, expiry: date, is_call: bool, strike: float) -> str:
    """OCC style: root padded to 6, yymmdd, C/P, strike × 1000 in 8 digits."""
    return (f"{root:<6}{expiry:%y%m%d}{'C' if is_call else 'P'}"
            f"{round(strike * 1000):08d}")


def make_book(
    rng: np.random.Generator, underlyings: list[UnderlyingSpec], count: int, today: date
) -> list[dict[str, Any]]:
    """A market maker's option book of `count` distinct options (fewer only when the strike
    grid runs out of them), the `PUT /v1/positions` body. Quantities are in contracts
    (multiplier 100), mostly short, as a market maker selling to customers is; strikes
    within about ±2.5 σ√T of spot, on the listed grid."""
    if count < 1:
        raise ValueError(f"options: at least 1, got {count}")
    expiries = monthly_expiries(today)
    book: dict[str, int] = {}
    for _ in range(count * 20):
        if len(book) == count:
            break
        u = underlyings[int(rng.integers(len(underlyings)))]
        expiry = expiries[int(rng.integers(len(expiries)))]
        years = max((expiry - today).days, 1) / 365.0
        z = float(np.clip(rng.standard_normal(), -2.5, 2.5))
        step = strike_step(u.spot)
        strike = max(step, round(u.spot * np.exp(u.vol * np.sqrt(years) * z) / step) * step)
        is_call = bool(rng.random() < 0.5)
        size = int(rng.integers(1, 51))
        sign = -1 if rng.random() < 0.6 else 1
        book.setdefault(occ_symbol(u.symbol, expiry, is_call, strike), sign * size)
    return [{"symbol": s, "quantity": q} for s, q in sorted(book.items())]


def band_policy(gamma: float | None, spot: float, band_pct: float,
                stale_after_s: float) -> dict[str, Any]:
    """The `PUT /v1/hedge/policies/{underlying}` body: mode band, rebalanced to delta-flat.

    The band half-width, in shares, is what the book's `gamma` (shares per $1) makes of a
    `band_pct` % move of `spot`: a rehedge about every `band_pct` % the stock travels, and
    never tighter than one round lot. `stale_after_s` stops hedging on a feed that stalled.
    """
    moved = abs(gamma or 0.0) * spot * band_pct / 100.0
    return {
        "mode": "band",
        "target_delta": 0.0,
        "band": round(max(MIN_BAND_SHARES, moved)),
        "rebalance_to": "target",
        "pending_ttl_s": 10.0,
        "stale_after_s": stale_after_s,
        "max_signals_per_s": 5.0,
    }


class GbmMarket:
    """Spot prices under geometric Brownian motion with the risk-neutral drift `r − q`.

    `step(dt_s)` moves every underlying by `dt_s` market seconds (one vectorized draw) and
    returns the new spots, $ (array of shape (n,))."""

    def __init__(self, rng: np.random.Generator, underlyings: list[UnderlyingSpec]) -> None:
        self.rng = rng
        self.specs = list(underlyings)
        self.symbols = [u.symbol for u in underlyings]
        self.spots = np.array([u.spot for u in underlyings], dtype=float)
        self.vols = np.array([u.vol for u in underlyings], dtype=float)
        self.drifts = np.array([u.rate - u.div_yield for u in underlyings], dtype=float)
        self._index = {s: i for i, s in enumerate(self.symbols)}

    def step(self, dt_s: float) -> np.ndarray:
        dt = dt_s / SECONDS_PER_YEAR
        z = self.rng.standard_normal(len(self.spots))
        self.spots = self.spots * np.exp(
            (self.drifts - 0.5 * self.vols**2) * dt + self.vols * np.sqrt(dt) * z)
        return self.spots

    def price_of(self, symbol: str) -> float | None:
        """The latest simulated price of `symbol`, $; None for a symbol it does not move."""
        i = self._index.get(symbol)
        return None if i is None else round(float(self.spots[i]), 4)

    def ticks(self, ts: float) -> list[dict[str, Any]]:
        """One ingest frame: a `tick` message per underlying at event time `ts` (epoch s)."""
        return [{"type": "tick", "symbol": s, "price": round(float(p), 4), "ts": ts}
                for s, p in zip(self.symbols, self.spots.tolist(), strict=True)]
