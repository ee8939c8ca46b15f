"""The book's value and Greeks along the paths, through the pricing core (`app.pricing.greeks`).

The book and the market are the same for every strategy; only the hedge differs. So each step
prices every live option row once on every path, and the strategies read the aggregates:
`weights @ per_row` with `weights` (n_strategies, n_rows) — a strategy's rows differ only by the
overlays it adds (tail puts).

Raw units as the pricing core gives them: price $, delta shares, gamma shares per $1, theta $
per year (as calendar time passes), vega $ per 1.00 vol — all per share-equivalent, so a row's
weight is quantity × multiplier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.backtest.markets import YEAR_S
from app.backtest.scenario import Legs

FloatArray = NDArray[np.float64]
FIELDS = ("price", "delta", "gamma", "theta", "vega")


def pricing_greeks():  # type: ignore[no-untyped-def]
    """`app.pricing.greeks`, looked up at call time (the pricing core is imported lazily so a
    test or the bench may install a stand-in before the first run)."""
    from app.pricing import greeks

    return greeks


@dataclass(frozen=True, slots=True)
class RowGreeks:
    """Per-row figures, each (n_rows, n_paths): the rows priced, in the order given."""

    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray
    tau: FloatArray  # (n_rows, 1) years to expiry, ≥ 0


def price_rows(
    rows: Legs,
    index: NDArray[np.intp],
    spot: FloatArray,
    now: float,
    vol: FloatArray | float,
    rate: float,
    div_yield: float,
    model: str,
) -> RowGreeks:
    """Price the rows `index` of `rows` at time `now` (epoch s) on every path.

    `spot` (n_paths,) $, `vol` a float or (n_paths,) per 1.00. Rows at or past expiry are worth
    their intrinsic value (delta 1/−1/0, other Greeks 0), as the pricing core defines.
    """
    greeks = pricing_greeks()
    tau = np.maximum(rows.expiry[index] - now, 0.0)[:, None] / YEAR_S
    v = vol if np.ndim(vol) == 0 else np.asarray(vol)[None, :]
    g = greeks(
        rows.is_call[index][:, None], spot[None, :], rows.strike[index][:, None], tau, v,
        rate, div_yield, model=model,
    )
    shape = (index.shape[0], spot.shape[0])
    return RowGreeks(
        *(np.broadcast_to(np.asarray(g[name], dtype=np.float64), shape) for name in FIELDS),
        tau=tau,
    )


@dataclass(frozen=True, slots=True)
class BookFigures:
    """Aggregates per strategy and path, each (n_strategies, n_paths): the book's value $,
    delta shares, gamma shares per $1, theta $ per year, vega $ per 1.00 vol, and the
    gamma-weighted time to expiry in years (NaN when not asked for)."""

    value: FloatArray
    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray
    tau: FloatArray


def aggregate(weights: FloatArray, g: RowGreeks, want_tau: bool) -> BookFigures:
    """`weights` (n_strategies, n_rows) share-equivalents per row (0 for a row a strategy does
    not hold) against the rows `g` holds."""
    value = weights @ g.price
    delta = weights @ g.delta
    gamma = weights @ g.gamma
    theta = weights @ g.theta
    vega = weights @ g.vega
    if want_tau:
        abs_gamma = np.abs(weights) @ np.abs(g.gamma)
        tg = np.abs(weights) @ (np.abs(g.gamma) * g.tau)
        tau = np.divide(tg, abs_gamma, out=np.zeros_like(tg), where=abs_gamma > 0)
    else:
        tau = np.full_like(value, np.nan)
    return BookFigures(value, delta, gamma, theta, vega, tau)
