"""Explain in the backtest: each step's change of the options' value by sequential
revaluation — time, then spot, then vol, each priced at the new time — through
`app.pnl.explain`, the live service's code. The steps sum to the step's revaluation exactly.

Costs one or two more pricings of the live rows per step (the time step, and the spot step
when the vol moves too), on a pricer of its own so the loop's alternating buffers stay valid;
asked for with `RunConfig(explain=True)` / `--explain`."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from app.backtest.scenario import Legs
from app.backtest.valuation import RowPricer, _dot
from app.pnl import EXPLAIN_STEPS, MarketPoint, explain
from app.pricing.arrays import FloatArray

STEPS = EXPLAIN_STEPS[:3]  # time, spot, vol (the backtest's rate stands still)


class StepExplainer:
    def __init__(self, rows: Legs, n_paths: int, rate: float, div_yield: float,
                 model: str) -> None:
        self.rows, self.n_paths = rows, n_paths
        self.rate, self.div_yield, self.model = rate, div_yield, model
        self.pricers: dict[bytes, RowPricer] = {}
        self.sums: dict[str, FloatArray] = {}

    def step(self, alive: NDArray[np.intp], weights: FloatArray, t0: float, t1: float,
             s0: FloatArray, s1: FloatArray, vol0: FloatArray | float,
             vol1: FloatArray | float, v0: FloatArray, v1: FloatArray) -> None:
        """Add the step t0 → t1 of the rows `alive` held at `weights` (n_strategies,
        n_alive): `v0` / `v1` their values (n_strategies, n_paths) at the two points."""
        key = alive.tobytes()
        pricer = self.pricers.get(key)
        if pricer is None:
            pricer = self.pricers[key] = RowPricer(self.rows, alive, self.n_paths, self.rate,
                                                   self.div_yield, self.model)
        w = np.ascontiguousarray(weights, dtype=np.float64)

        def value(p: MarketPoint) -> FloatArray:
            vols = p.vols if np.ndim(p.vols) == 0 else np.asarray(p.vols)
            return _dot(w, pricer(np.asarray(p.spot), float(p.t), vols).price)

        steps = explain(value, MarketPoint(t0, s0, vol0, self.rate),
                        MarketPoint(t1, s1, vol1, self.rate), v0=v0, v1=v1)
        for name in STEPS:
            if name in self.sums:
                self.sums[name] = self.sums[name] + steps[name]
            else:
                self.sums[name] = np.asarray(steps[name], dtype=np.float64).copy()
