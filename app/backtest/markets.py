"""Markets: price paths of one underlying, vectorized over paths, reproducible from a seed.

Every model returns a `MarketPaths`: `times` (n_steps + 1,) epoch seconds, `spot` (n_steps + 1,
n_paths) in $, and `vol` — the implied vol the book is marked at — either None (the book's flat
vol throughout) or (n_steps + 1, n_paths). Time in years is seconds / (365 × 86,400) as in the
pricing core.

- `gbm`: geometric Brownian motion, exact log-normal steps (the Black-Scholes world).
- `heston`: Heston stochastic variance, full-truncation Euler (Lord, Koekkoek & van Dijk 2010)
  for the variance, log-Euler for the price; the book is re-marked each step at the Heston
  expected average variance over each option's life (a flat, zero-correlation proxy of the
  implied vol), so vega P&L appears.
- `merton`: Merton jump-diffusion, log-normal jumps with compensated drift (jumps the hedge
  cannot follow).
- the "realized vol ≠ implied vol" case is any of these with `realized_vol` set apart from the
  book's vol (the gamma-scalping case).
- replay: a recorded tick file, one path (see `replay_paths`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from app.domain import parse_ts
from app.domain.units import SECONDS_PER_YEAR
from app.errors import InvalidInput
from app.pricing.arrays import FloatArray


@dataclass(frozen=True, slots=True)
class MarketPaths:
    """`times` (n_steps + 1,) epoch s; `spot` (n_steps + 1, n_paths) $; `vol` None or
    (n_steps + 1, n_paths) implied vol per 1.00. Merton paths also keep their jumps:
    `jump_counts` (n_steps, n_paths) jumps in each step and `jump_logs` their summed log
    size (the credit model of a convertible book widens spreads on down-jumps)."""

    times: FloatArray
    spot: FloatArray
    vol: FloatArray | None = None
    jump_counts: NDArray[np.int64] | None = None
    jump_logs: FloatArray | None = None

    @property
    def n_steps(self) -> int:
        return int(self.times.shape[0]) - 1

    @property
    def n_paths(self) -> int:
        return int(self.spot.shape[1])


@dataclass(frozen=True, slots=True)
class HestonParams:
    """Mean-reversion speed `kappa` (per year), vol of variance `xi`, spot/variance
    correlation `rho`; long-run variance = the realized vol squared, the start variance too."""

    kappa: float = 2.0
    xi: float = 0.5
    rho: float = -0.7


@dataclass(frozen=True, slots=True)
class JumpParams:
    """Poisson jump intensity `intensity` (per year), log-jump mean `mean` and std `std`."""

    intensity: float = 2.0
    mean: float = -0.10
    std: float = 0.05


def time_grid(start: float, end: float, n_steps: int) -> FloatArray:
    """(n_steps + 1,) equal steps from start to end, epoch seconds."""
    if n_steps < 1:
        raise InvalidInput("steps", "must be at least 1")
    return np.linspace(start, end, n_steps + 1)


#: A decision point this long before each ex time: the last moment to exercise an American
#: call before the stock goes ex (holding through the drop would give the dividend away).
BEFORE_EX_S = 1.0


def with_ex_points(times: FloatArray, dividends: tuple[tuple[float, float], ...]) -> FloatArray:
    """`times` with a point BEFORE_EX_S before each ex time inside the run."""
    extra = [ex - BEFORE_EX_S for ex, _ in dividends if times[0] < ex - BEFORE_EX_S < times[-1]]
    return np.unique(np.concatenate([times, extra])) if extra else times


def gbm_paths(
    rng: np.random.Generator, spot: float, drift: float, vol: float,
    times: FloatArray, n_paths: int,
) -> MarketPaths:
    """GBM with `drift` (per year, the price's growth rate: r − q under the pricing measure)
    and `vol` per 1.00; exact steps, so any step size is unbiased."""
    dt = np.diff(times)[:, None] / SECONDS_PER_YEAR
    z = rng.standard_normal((dt.shape[0], n_paths))
    log_steps = (drift - 0.5 * vol * vol) * dt + vol * np.sqrt(dt) * z
    return MarketPaths(times, _from_log_steps(spot, log_steps))


def merton_paths(
    rng: np.random.Generator, spot: float, drift: float, vol: float,
    times: FloatArray, n_paths: int, jumps: JumpParams,
) -> MarketPaths:
    """Merton jump-diffusion: GBM plus compound-Poisson log-normal jumps; the drift is
    compensated (−λk, k = E[e^J] − 1) so the price still grows at `drift` on average."""
    dt = np.diff(times)[:, None] / SECONDS_PER_YEAR
    shape = (dt.shape[0], n_paths)
    z = rng.standard_normal(shape)
    counts = rng.poisson(jumps.intensity * np.broadcast_to(dt, shape))
    jump_logs = counts * jumps.mean + np.sqrt(counts) * jumps.std * rng.standard_normal(shape)
    k = np.expm1(jumps.mean + 0.5 * jumps.std**2)
    log_steps = ((drift - jumps.intensity * k - 0.5 * vol * vol) * dt
                 + vol * np.sqrt(dt) * z + jump_logs)
    return MarketPaths(times, _from_log_steps(spot, log_steps), jump_counts=counts,
                       jump_logs=jump_logs)


def heston_paths(
    rng: np.random.Generator, spot: float, drift: float, vol: float,
    times: FloatArray, n_paths: int, params: HestonParams, mark_expiry: float,
) -> MarketPaths:
    """Heston, full-truncation Euler: v⁺ = max(v, 0) in the drift and diffusion of both the
    variance and the log-price. `vol` sets the start and long-run variance (vol²).

    The book's mark vol at each step is √(θ + (v⁺ − θ)(1 − e^{−κτ})/(κτ)), τ the time to
    `mark_expiry` (epoch s), the expected average variance to expiry.
    """
    dt = np.diff(times) / SECONDS_PER_YEAR
    n = dt.shape[0]
    theta = vol * vol
    kappa, xi, rho = params.kappa, params.xi, params.rho
    v = np.full(n_paths, theta)
    log_s = np.full(n_paths, np.log(spot))
    spot_out = np.empty((n + 1, n_paths))
    var_out = np.empty((n + 1, n_paths))
    spot_out[0], var_out[0] = spot, theta
    root = np.sqrt(1.0 - rho * rho)
    for i in range(n):
        z1 = rng.standard_normal(n_paths)
        z2 = rho * z1 + root * rng.standard_normal(n_paths)
        vp = np.maximum(v, 0.0)
        sq = np.sqrt(vp * dt[i])
        log_s += (drift - 0.5 * vp) * dt[i] + sq * z1
        v = v + kappa * (theta - vp) * dt[i] + xi * sq * z2
        spot_out[i + 1] = np.exp(log_s)
        var_out[i + 1] = np.maximum(v, 0.0)
    tau = np.maximum(mark_expiry - times, 0.0)[:, None] / SECONDS_PER_YEAR
    kt = kappa * tau
    weight = np.where(kt > 1e-12, -np.expm1(-kt) / np.where(kt > 1e-12, kt, 1.0), 1.0)
    mark_var = theta + (var_out - theta) * weight
    return MarketPaths(times, spot_out, np.sqrt(np.maximum(mark_var, 1e-8)))


def _from_log_steps(spot: float, log_steps: FloatArray) -> FloatArray:
    out = np.empty((log_steps.shape[0] + 1, log_steps.shape[1]))
    out[0] = spot
    np.cumsum(log_steps, axis=0, out=out[1:])
    np.exp(out[1:], out=out[1:])
    out[1:] *= spot
    return out


@dataclass(frozen=True, slots=True)
class TickTape:
    """A recorded tick file: `ts` (n,) epoch s ascending, `symbol` (n,), `price` (n,) $."""

    ts: FloatArray
    symbol: NDArray[np.str_]
    price: FloatArray


def read_ticks(path: str | Path) -> TickTape:
    """CSV with a header `ts,symbol,price` (ts ISO-8601 or epoch seconds); rows in any order
    (sorted stably by ts). Raises InvalidInput naming the line."""
    rows: list[tuple[float, str, float]] = []
    with Path(path).open(newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"ts", "symbol", "price"} <= set(reader.fieldnames):
            raise InvalidInput("replay", f"{path}: needs a header with ts, symbol, price")
        for line, row in enumerate(reader, start=2):
            try:
                raw_ts = row["ts"].strip()
                ts = parse_ts(float(raw_ts) if _is_number(raw_ts) else raw_ts, "ts")
                price = float(row["price"])
            except (ValueError, AttributeError) as exc:
                raise InvalidInput("replay", f"{path}:{line}: {exc}") from None
            if not (price > 0 and np.isfinite(price)):
                raise InvalidInput("replay", f"{path}:{line}: price must be finite and > 0")
            rows.append((ts, row["symbol"].strip(), price))
    if not rows:
        raise InvalidInput("replay", f"{path}: no ticks")
    rows.sort(key=lambda r: r[0])
    return TickTape(
        np.array([r[0] for r in rows]),
        np.array([r[1] for r in rows]),
        np.array([r[2] for r in rows]),
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def replay_paths(tape: TickTape, symbol: str, start: float, spot: float) -> MarketPaths:
    """One path of `symbol` on its own ticks at and after `start`: the first point is the book's
    `spot` at `start` (the PUT's spot until the first tick), then one point per tick."""
    mine = (tape.symbol == symbol) & (tape.ts >= start)
    ts, px = tape.ts[mine], tape.price[mine]
    if ts.size and ts[0] == start:
        times, prices = ts, px
    else:
        times = np.concatenate([[start], ts])
        prices = np.concatenate([[spot], px])
    return MarketPaths(times.astype(np.float64), prices.astype(np.float64)[:, None])


def with_cash_dividends(market: MarketPaths,
                        dividends: tuple[tuple[float, float], ...]) -> MarketPaths:
    """The paths with the stock dropping by each cash dividend at its ex time (the spot
    model): a step whose interval (t_i, t_i+1] holds an ex time ends that much lower, and
    every later point keeps the path's own returns from there. A drop never takes the stock
    below 1e-6 of its price."""
    times = market.times
    drops = np.zeros(times.shape[0])
    for ex, amount in dividends:
        j = int(np.searchsorted(times, ex, side="left"))
        if 0 < j < times.shape[0]:
            drops[j] += amount
    if not drops.any():
        return market
    spot = market.spot.copy()
    ratio = market.spot[1:] / market.spot[:-1]
    for j in range(1, times.shape[0]):
        spot[j] = spot[j - 1] * ratio[j - 1]
        if drops[j]:
            spot[j] = np.maximum(spot[j] - drops[j], 1e-6 * spot[j])
    return replace(market, spot=spot)


def dividends_in(dividends: tuple[tuple[float, float], ...], after: float,
                 until: float) -> float:
    """Cash per share of the dividends going ex in (after, until]."""
    return sum(a for ex, a in dividends if after < ex <= until)
