"""Gamma and vega hedged with options: the least-cost quantities of candidate options that
bring an underlying's gamma and vega to targets (advisory; nothing is sent from here).

Units: gamma in shares per $1, vega in $ per vol point (CONTRACT §1), per contract and for the
book; cost in $ (half the bid/ask spread × multiplier per contract traded).

- As many independent candidates as targets: the exact solution of the linear system.
- More candidates: the exact solution of least cost — a linear programme over
  x = x⁺ − x⁻ ≥ 0 minimizing Σ cost_j (x⁺_j + x⁻_j) with |x_j| ≤ max_contracts.
- Fewer independent candidates than targets (exact is impossible): bounded least squares on
  the targets, each target scaled by its own size so gamma and vega weigh alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linprog, lsq_linear

from app.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class OptionsPlan:
    quantities: NDArray[np.float64]  # contracts per candidate (signed, + buy), exact
    contracts: NDArray[np.float64]  # the same rounded to whole contracts
    exact: bool  # targets met exactly (before rounding)
    cost: float  # $ of half-spreads for `contracts`
    method: str  # "exact", "least_cost" or "least_squares"


def plan_options(
    gamma_now: float,
    vega_now: float,
    gamma_per_contract: NDArray[np.float64],
    vega_per_contract: NDArray[np.float64],
    cost_per_contract: NDArray[np.float64],
    target_gamma: float | None,
    target_vega: float | None,
    max_contracts: float | None = None,
) -> OptionsPlan:
    """Solve for the contracts of each candidate. Raises InvalidInput when no plan fits."""
    rows, need = [], []
    if target_gamma is not None:
        rows.append(gamma_per_contract)
        need.append(target_gamma - gamma_now)
    if target_vega is not None:
        rows.append(vega_per_contract)
        need.append(target_vega - vega_now)
    if not rows:
        raise InvalidInput("targets", "give a gamma target, a vega target or both")
    a = np.vstack(rows).astype(np.float64)
    b = np.asarray(need, dtype=np.float64)
    n = a.shape[1]
    if n == 0:
        raise InvalidInput("candidates", "at least one candidate option is needed")
    cost = np.asarray(cost_per_contract, dtype=np.float64)
    bound = np.inf if max_contracts is None else float(max_contracts)
    rank = np.linalg.matrix_rank(a)

    if rank == len(b):
        if n == len(b):
            # float64 in, float64 out (numpy's stubs only say floating)
            x = cast("NDArray[np.float64]", np.linalg.solve(a, b))
            method = "exact"
        else:
            x = _least_cost(a, b, cost, bound)
            method = "least_cost"
        if np.any(np.abs(x) > bound * (1 + 1e-9)):
            need_max = float(np.max(np.abs(x)))
            raise InvalidInput("max_contracts",
                               f"the targets need {need_max:.1f} contracts of one option, "
                               f"over max_contracts {bound:g}")
        exact = True
    else:
        scale = np.maximum(np.abs(b), 1.0)
        res = lsq_linear(a / scale[:, None], b / scale,
                         bounds=(-bound, bound) if np.isfinite(bound) else (-np.inf, np.inf))
        x = res.x
        method = "least_squares"
        exact = False
        if not np.any(np.abs(x) > 1e-9):
            raise InvalidInput("targets", "no combination of the candidates moves toward "
                               "the targets (their gamma and vega are zero or opposed)")
    contracts = np.rint(x) + 0.0
    return OptionsPlan(x, contracts, exact, float(np.abs(contracts) @ cost), method)


def _least_cost(a: NDArray[np.float64], b: NDArray[np.float64], cost: NDArray[np.float64],
                bound: float) -> NDArray[np.float64]:
    n = a.shape[1]
    # a tiny cost on every contract picks the smallest plan among equal-cost ones
    c = np.concatenate([cost, cost]) + 1e-9
    res = linprog(c, A_eq=np.hstack([a, -a]), b_eq=b,
                  bounds=[(0, None if not np.isfinite(bound) else bound)] * (2 * n),
                  method="highs")
    if res.status != 0:
        raise InvalidInput("max_contracts", f"no plan meets the targets within the limits "
                           f"({res.message})")
    return np.asarray(res.x[:n] - res.x[n:], dtype=np.float64)
