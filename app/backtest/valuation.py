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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from app.backtest.scenario import Legs
from app.domain.units import SECONDS_PER_YEAR
from app.errors import InvalidInput
from app.pricing.arrays import FloatArray


def pricing_greeks() -> Callable[..., Mapping[str, Any]]:
    """`app.pricing.greeks`, looked up at call time (the pricing core is imported lazily)."""
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
    vanna: FloatArray | None = None  # per $1 and 1.00 vol
    volga: FloatArray | None = None  # per 1.00 vol²

    def subset(self, keep: NDArray[np.bool_]) -> RowGreeks:
        return RowGreeks(self.price[keep], self.delta[keep], self.gamma[keep],
                         self.theta[keep], self.vega[keep], self.tau[keep],
                         None if self.vanna is None else self.vanna[keep],
                         None if self.volga is None else self.volga[keep])


class RowPricer:
    """Prices a fixed set of rows on `n_paths` paths, step after step, through the pricing
    core's unvalidated `greeks_into` into preallocated buffers (the inputs are valid by
    construction: spots from exp(), strikes and vols checked when the book was loaded).

    Two output buffers alternate, so the figures of the previous call stay valid while the
    next step is priced. The rows' layout is (n_rows, n_paths), row-major.
    """

    def __init__(self, rows: Legs, index: NDArray[np.intp], n_paths: int, rate: float,
                 div_yield: float, model: str,
                 dividends: tuple[tuple[float, float], ...] = ()) -> None:
        from app.pricing import greeks_into

        self._into = greeks_into
        self.index = index
        self.shape = (index.shape[0], n_paths)
        size = self.shape[0] * n_paths
        self.expiry = rows.expiry[index]
        self.is_call = np.repeat(rows.is_call[index], n_paths)
        self.strike = np.repeat(rows.strike[index], n_paths)
        self.rate = np.full(size, float(rate))
        self.div = np.full(size, float(div_yield))
        self.black76 = model == "black76"
        self.spot = np.empty(size)
        self.t = np.empty(size)
        self.vol = np.empty(size)
        self.flat_vol: float | None = None
        self.out = (np.empty((9, size)), np.empty((9, size)))
        self.flip = 0
        self.american = AmericanRows(np.repeat(rows.is_american[index], n_paths),
                                     float(np.max(self.expiry, initial=0.0)))
        self.cash = CashDividendRows(rows.is_american[index], dividends) if dividends else None

    def __call__(self, spot: FloatArray, now: float, vol: FloatArray | float) -> RowGreeks:
        """`spot` (n_paths,) $, `now` epoch s, `vol` float or (n_paths,) per 1.00."""
        n, p = self.shape
        tau = np.maximum(self.expiry - now, 0.0) / SECONDS_PER_YEAR
        self.spot.reshape(n, p)[:] = spot[None, :]
        self.t.reshape(n, p)[:] = tau[:, None]
        if np.ndim(vol) != 0:
            self.vol.reshape(n, p)[:] = np.asarray(vol)[None, :]
            self.flat_vol = None
        elif vol != self.flat_vol:  # a flat vol is written once, not every step
            self.vol.fill(float(vol))
            self.flat_vol = float(vol)
        out = self.out[self.flip]
        self.flip ^= 1
        self._into(self.is_call, self.spot, self.strike, self.t, self.vol, self.rate,
                   self.div, self.black76, out)
        if self.american.any:
            self.american.price(self, now, out)
        if self.cash is not None:
            self.cash.price(self, spot, now, out)
        # GREEK_NAMES order: price, delta, gamma, vega, theta, ...
        price, delta, gamma, vega, theta = (out[j].reshape(n, p) for j in range(5))
        return RowGreeks(price, delta, gamma, theta, vega, tau[:, None], out[6].reshape(n, p),
                         out[7].reshape(n, p))


class AmericanRows:
    """The American cells of a `RowPricer` (rows × paths, flattened): after the European
    pass, priced on exercise boundaries solved once per (call/put, vol octave) and kept
    (`app.pricing.american_boundaries` with reuse; they serve every expiry up to the book's
    longest, and every path: a boundary does not depend on spot). Cells at expiry keep
    their intrinsic value; a cell the cached boundaries do not cover goes through the
    validated `greeks(style="american")`."""

    def __init__(self, american: NDArray[np.bool_], last_expiry: float) -> None:
        self.cells = np.flatnonzero(american)
        self.any = bool(self.cells.size)
        self.last_expiry = last_expiry
        self.state: Any = None
        self.key: tuple[float, float, bool, float] | None = None

    def price(self, rp: RowPricer, now: float, out: FloatArray) -> None:
        from app.pricing import american_boundaries, american_greeks_into

        live = self.cells[rp.t[self.cells] > 0.0]
        if not live.size:
            return
        rate, q = float(rp.rate[0]), float(rp.div[0])
        horizon = 0.5 * max(1.0, float(np.ceil((self.last_expiry - now)
                                               / SECONDS_PER_YEAR / 0.5)))
        key = (rate, q, rp.black76, horizon)
        reuse = self.state if self.key == key else None
        is_call, vol = rp.is_call[live], rp.vol[live]
        self.state, panel = american_boundaries(is_call, vol, rate, q, rp.black76, horizon,
                                                reuse=reuse)
        self.key = key
        sub = np.empty((9, live.size))
        args = (is_call, rp.spot[live], rp.strike[live], rp.t[live], vol)
        if american_greeks_into(*args, rate, q, rp.black76, self.state, panel, sub):
            bad = np.flatnonzero(np.isnan(sub[0]))
            g = pricing_greeks()(*(a[bad] for a in args), rate, q,
                                 model="black76" if rp.black76 else "bsm", style="american")
            for row, name in enumerate(("price", "delta", "gamma", "vega", "theta")):
                sub[row, bad] = g[name]
        out[:, live] = sub


class CashDividendRows:
    """The rows of a `RowPricer` with a cash dividend going ex inside their life, priced in
    the spot model on one finite-difference grid per row and step (`dividend_grids` spanning
    every path's spot, read at each: the paths share time and vol), European and American
    alike, over what the other passes wrote. A cell outside its grid's trusted band goes
    through the validated `greeks(dividends=...)`. Needs the book's flat vol."""

    def __init__(self, american: NDArray[np.bool_],
                 dividends: tuple[tuple[float, float], ...]) -> None:
        self.american = american
        self.ex = np.array([ex for ex, _ in dividends])
        self.amounts = np.array([a for _, a in dividends])

    def price(self, rp: RowPricer, spot: FloatArray, now: float, out: FloatArray) -> None:
        from app.pricing import dividend_grid_greeks_into, dividend_grids

        p = rp.shape[1]
        ahead = self.ex > now
        if not ahead.any():
            return
        times = (self.ex[ahead] - now) / SECONDS_PER_YEAR
        amounts = self.amounts[ahead]
        tau = np.maximum(rp.expiry - now, 0.0) / SECONDS_PER_YEAR
        rows = np.flatnonzero((tau > 0.0) & (times.min() < tau))
        if not rows.size:
            return
        if rp.flat_vol is None:
            raise InvalidInput("model", "cash dividends are priced at the book's flat vol: "
                               "gbm, merton or a replay")
        m = rows.size
        lo, hi = float(spot.min()), float(spot.max())
        cell = rows * p
        grid = dividend_grids(rp.is_call[cell], np.full(m, lo), rp.strike[cell], tau[rows],
                              np.full(m, rp.flat_vol), rp.rate[:m], rp.div[:m],
                              self.american[rows], times, amounts, spot_high=np.full(m, hi))
        sub = np.empty((9, m * p))
        stale = sum(dividend_grid_greeks_into(_row_over_paths(grid, j, p), spot, 0.0,
                                              sub[:, j * p:(j + 1) * p]) for j in range(m))
        if stale:
            bad = np.flatnonzero(np.isnan(sub[0]))
            row_of = rows[bad // p]
            g = pricing_greeks()(rp.is_call[cell][bad // p], spot[bad % p],
                                 rp.strike[cell][bad // p], tau[row_of], rp.flat_vol,
                                 float(rp.rate[0]), float(rp.div[0]),
                                 style=np.where(self.american[row_of], "american", "european"),
                                 dividends=(times, amounts))
            for j, name in enumerate(("price", "delta", "gamma", "vega", "theta")):
                sub[j, bad] = g[name]
        cells = (rows[:, None] * p + np.arange(p)[None, :]).ravel()
        out[:, cells] = sub


def _row_over_paths(grid: Any, j: int, p: int) -> Any:
    """Option j of `grid` seen as p options (one per path) without copying its solved
    values: every per-option array a stride-0 view."""
    from dataclasses import fields, replace

    per_option = {f.name: np.broadcast_to(getattr(grid, f.name)[j:j + 1], (p,))
                  for f in fields(grid) if f.name not in ("values", "prev", "div_times",
                                                          "div_amounts")}
    values = np.broadcast_to(grid.values[:, j:j + 1, :], (5, p, grid.values.shape[2]))
    prev = np.broadcast_to(grid.prev[j:j + 1, :], (p, grid.prev.shape[1]))
    return replace(grid, **per_option, values=values, prev=prev)


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
    """Price the rows `index` of `rows` at time `now` (epoch s) on every path with the
    validated `app.pricing.greeks` (one-off use; the loop uses `RowPricer`).

    `spot` (n_paths,) $, `vol` a float or (n_paths,) per 1.00. Rows at or past expiry are worth
    their intrinsic value (delta 1/−1/0, other Greeks 0), as the pricing core defines.
    """
    greeks = pricing_greeks()
    tau = np.maximum(rows.expiry[index] - now, 0.0)[:, None] / SECONDS_PER_YEAR
    v = vol if np.ndim(vol) == 0 else np.asarray(vol)[None, :]
    style = np.where(rows.is_american[index], "american", "european")[:, None]
    g = greeks(
        rows.is_call[index][:, None], spot[None, :], rows.strike[index][:, None], tau, v,
        rate, div_yield, model=model, style=style,
    )
    shape = (index.shape[0], spot.shape[0])

    def field(name: str) -> FloatArray:  # writable: an early exercise overwrites its cells
        return np.array(np.broadcast_to(np.asarray(g[name], dtype=np.float64), shape))

    return RowGreeks(field("price"), field("delta"), field("gamma"), field("theta"),
                     field("vega"), tau, field("vanna"), field("volga"))


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
    vanna: FloatArray | None = None  # with `want_vol`: $ per $1 and 1.00 vol
    volga: FloatArray | None = None  # $ per 1.00 vol²


def _dot(weights: FloatArray, rows: FloatArray) -> FloatArray:
    """(u, n) @ (n, p) in one thread: einsum's own loop, not BLAS, whose worker threads stall
    a small product for milliseconds when the machine's cores are busy elsewhere."""
    return cast(FloatArray, np.einsum("un,np->up", weights, rows))


def aggregate(weights: FloatArray, g: RowGreeks, want_tau: bool,
              want_vol: bool = False) -> BookFigures:
    """`weights` (n_strategies, n_rows) share-equivalents per row (0 for a row a strategy does
    not hold) against the rows `g` holds. Strategies holding the same rows share the work.
    `want_vol`: the vanna and volga too (a market whose vol moves)."""
    uniq, inverse = np.unique(weights, axis=0, return_inverse=True)
    uniq = np.ascontiguousarray(uniq, dtype=np.float64)
    inverse = inverse.ravel()
    value = _dot(uniq, g.price)[inverse]
    delta = _dot(uniq, g.delta)[inverse]
    gamma = _dot(uniq, g.gamma)[inverse]
    theta = _dot(uniq, g.theta)[inverse]
    vega = _dot(uniq, g.vega)[inverse]
    if want_tau:
        # per-row gamma is ≥ 0 (one option), so |w Γ| = |w| Γ and τ rides on the weights
        absw = np.abs(uniq)
        both = _dot(np.vstack([absw, absw * g.tau[:, 0]]), g.gamma)
        weight, tg = both[: len(uniq)], both[len(uniq):]
        tau = np.divide(tg, weight, out=np.zeros_like(tg), where=weight > 0)[inverse]
    else:
        tau = np.full_like(value, np.nan)
    vanna = volga = None
    if want_vol and g.vanna is not None and g.volga is not None:
        vanna, volga = _dot(uniq, g.vanna)[inverse], _dot(uniq, g.volga)[inverse]
    return BookFigures(value, delta, gamma, theta, vega, tau, vanna, volga)
