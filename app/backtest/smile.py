"""Hedging a skewed book when implied vols follow a smile: sticky strike against sticky
moneyness (issue 12), `python -m app backtest --stickiness`.

The market: spot under geometric Brownian motion at the smile's at-the-money vol; every
option's implied vol read off one smile surface (the sample SSVI put skew, `app.surface.sample`,
stationary in time to expiry) under the market's own dynamics —
- `strike`: each option keeps the vol it had at the start (σ(K) fixed as spot moves);
- `moneyness`: σ = σ̂(ln(K / F(S)), T − t): the smile moves with the forward.
The book is marked at those vols (Black–Scholes prices) at every step. The hedger holds
−(book delta) shares, rebalanced every step, with the delta of the dynamics it assumes: the
Black–Scholes delta at the option's vol (`strike`), or the smile delta ∂V/∂S + vega ∂σ/∂S of
sticky moneyness (`moneyness`). The hedging error of each (market, assumption) pair is the
spread of the hedged P&L over the paths: the assumption that matches the market hedges the
skew's vol move too; the other leaves vega × ∂σ/∂S × dS unhedged at every step. Rates and
dividends are 0 (P&L is pure hedging error plus the discrete-rebalancing noise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.pricing import greeks
from app.surface import Surface, smile_vols
from app.surface.sample import sample_surface

DEFAULT_BOOK = ((0.85, -100.0, False), (0.9, -100.0, False), (0.95, -50.0, False))  # puts
STICKINESS = ("strike", "moneyness")


@dataclass(frozen=True, slots=True)
class StickinessResult:
    """Per (market dynamics, assumed dynamics): the hedged P&L's mean and standard deviation
    over the paths ($, the whole book, multiplier 100)."""

    market: str
    assumed: str
    mean: float
    std: float

    def as_dict(self) -> dict[str, Any]:
        return {"market": self.market, "assumed": self.assumed, "mean": self.mean,
                "std": self.std}


def _vols(surface: Surface, strike: np.ndarray, tau: float, spot: np.ndarray,
          market: str, start_vol: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(vol, ∂σ/∂S) per (option, path) at time to expiry `tau` (years) and spots (paths)."""
    n_opt, n_paths = strike.shape[0], spot.shape[0]
    if market == "strike":
        return np.repeat(start_vol[:, None], n_paths, 1), np.zeros((n_opt, n_paths))
    k = np.repeat(strike, n_paths)
    s = np.tile(spot, n_opt)
    sv = smile_vols(surface, k, np.full(k.size, tau), s, float(spot.mean()), "moneyness",
                    np.ones(k.size))
    return sv.vol.reshape(n_opt, n_paths), sv.dvol_dspot.reshape(n_opt, n_paths)


def run_stickiness(paths: int = 2_000, steps: int = 200, horizon_days: float = 21.0,
                   expiry_days: float = 91.0, spot0: float = 100.0, seed: int = 7,
                   book: tuple[tuple[float, float, bool], ...] = DEFAULT_BOOK,
                   ) -> list[StickinessResult]:
    """The hedging error of `book` ((strike / spot, contracts, is_call) rows, one expiry) over
    `horizon_days`, `steps` rebalances, for each market dynamics and each assumed one."""
    surface = sample_surface(spot0, 0.0, 0.0)
    strike = np.array([m * spot0 for m, _, _ in book])
    size = np.array([q * 100.0 for _, q, _ in book])
    call = np.array([c for _, _, c in book])
    t0 = expiry_days / 365.0
    dt = horizon_days / 365.0 / steps
    atm = float(surface.vols(spot0, t0, spot0)[0])
    start_vol = surface.vols(strike, t0, spot0)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((steps, paths))
    out: list[StickinessResult] = []
    for market in STICKINESS:
        spot = np.full(paths, spot0)
        pnl = {a: np.zeros(paths) for a in STICKINESS}
        tau = t0
        vol, dvol = _vols(surface, strike, tau, spot, market, start_vol)
        g = _greeks(call, spot, strike, tau, vol)
        for i in range(steps):
            # the smile delta of sticky moneyness, read off the surface whatever the market
            m_dvol = dvol if market == "moneyness" else _vols(
                surface, strike, tau, spot, "moneyness", start_vol)[1]
            delta = {"strike": g["delta"], "moneyness": g["delta"] + g["vega"] * m_dvol}
            hedge = {a: -(size[:, None] * delta[a]).sum(0) for a in STICKINESS}
            new = spot * np.exp(-0.5 * atm * atm * dt + atm * np.sqrt(dt) * z[i])
            tau -= dt
            vol, dvol = _vols(surface, strike, tau, new, market, start_vol)
            g_new = _greeks(call, new, strike, tau, vol)
            book_pnl = (size[:, None] * (g_new["price"] - g["price"])).sum(0)
            for a in STICKINESS:
                pnl[a] += book_pnl + hedge[a] * (new - spot)
            spot, g = new, g_new
        out.extend(StickinessResult(market, a, float(pnl[a].mean()), float(pnl[a].std()))
                   for a in STICKINESS)
    return out


def _greeks(call: np.ndarray, spot: np.ndarray, strike: np.ndarray, tau: float,
            vol: np.ndarray) -> dict[str, np.ndarray]:
    n_opt, n_paths = vol.shape
    g = greeks(np.repeat(call, n_paths), np.tile(spot, n_opt), np.repeat(strike, n_paths),
               tau, vol.reshape(-1), 0.0, 0.0)
    return {k: np.asarray(g[k]).reshape(n_opt, n_paths) for k in ("price", "delta", "vega")}


def table(results: list[StickinessResult]) -> str:
    lines = ["market     assumed     mean P&L $    std P&L $ (hedging error)"]
    lines += [f"{r.market:<10} {r.assumed:<10} {r.mean:>11,.0f} {r.std:>12,.0f}"
              for r in results]
    return "\n".join(lines)
