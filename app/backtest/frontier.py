"""The cost-versus-risk sweep: fixed intervals, fixed bands and Whalley–Wilmott risk aversions,
scaled to the book, run on the same paths as the requested strategies.

Bands are fractions of the book's start delta (in shares); the Whalley–Wilmott risk aversions
are those whose start half-width equals each of those bands: γ = 3/2 · c · Γ² / H³
(c the proportional cost per share, Γ the book's start gamma, H the half-width).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.backtest.costs import CostModel
from app.backtest.scenario import Scenario
from app.backtest.valuation import pricing_greeks
from app.domain.units import SECONDS_PER_YEAR
from app.hedging.policy import HedgePolicy

BAND_FRACTIONS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4)
INTERVALS = (1, 2, 5, 10, 20, 50, 100, 250, 1000)


def start_figures(scenario: Scenario) -> tuple[float, float]:
    """(|delta| shares, |gamma| shares per $1) of the first underlying's book at the start."""
    u = scenario.underlyings[0]
    if u.legs.size == 0:
        return abs(u.delta_one), 0.0
    tau = np.maximum(u.legs.expiry - scenario.start, 0.0) / SECONDS_PER_YEAR
    g = pricing_greeks()(u.legs.is_call, u.spot, u.legs.strike, tau, u.vol, u.rate,
                         u.div_yield, model=u.model)
    return abs(float(u.legs.weight @ g["delta"]) + u.delta_one), abs(
        float(u.legs.weight @ g["gamma"]))


def frontier_spellings(scenario: Scenario, costs: CostModel, n_steps: int | None) -> list[str]:
    """The sweep's strategy spellings (intervals capped at `n_steps`)."""
    delta, gamma = start_figures(scenario)
    scale = max(delta, 100.0)
    bands = sorted({float(f"{f * scale:.3g}") for f in BAND_FRACTIONS})
    out = [f"interval:{n}" for n in INTERVALS if n_steps is None or n <= n_steps]
    out += [f"band:{b:g}" for b in bands]
    cps = costs.proportional_per_share(scenario.underlyings[0].spot) or (
        HedgePolicy().cost_per_share)
    if gamma > 0:
        out += [f"whalley_wilmott:{1.5 * cps * gamma**2 / b**3:.3g}" for b in bands]
    return out


def family(name: str) -> str:
    """interval | band | whalley_wilmott | other, from a spelling."""
    head = name.partition(":")[0]
    return head if head in ("interval", "band", "whalley_wilmott") else "other"


def frontier_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The sweep's points: name, family, risk (std P&L $) and cost (mean cost $)."""
    return [{"name": r["name"], "family": family(r["name"]), "std_pnl": r["std_pnl"],
             "mean_cost": r["mean_cost"], "mean_pnl": r["mean_pnl"]} for r in rows]


def below_frontier(
    point: tuple[float, float], frontier: list[tuple[float, float]], tolerance: float = 0.0
) -> bool:
    """True when (risk, cost) `point` is on or below the lower envelope that the (risk, cost)
    `frontier` points trace: their Pareto set (no other point has both less risk and less
    cost) joined linearly in risk, flat beyond its ends; `tolerance` × the envelope's cost is
    allowed above it."""
    pareto: list[tuple[float, float]] = []
    for risk, cost in sorted(frontier):
        if not pareto or cost < pareto[-1][1]:
            pareto.append((risk, cost))
    envelope = float(np.interp(point[0], [p[0] for p in pareto], [p[1] for p in pareto]))
    return point[1] <= envelope * (1.0 + tolerance)
