"""Early exercise in the backtester: where an American row is exercised on a path, and the
cash it becomes."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from app.backtest.scenario import Legs
from app.backtest.valuation import RowGreeks
from app.domain.units import SECONDS_PER_YEAR
from app.pricing.arrays import FloatArray

EXERCISE_SLACK = 1e-6


def exercise_region(g: RowGreeks, is_call: NDArray[np.bool_], strike: FloatArray,
                    spot: FloatArray) -> NDArray[np.bool_]:
    """(n_rows, n_paths): where an American row, before expiry, is worth no more than its
    intrinsic value plus EXERCISE_SLACK × strike — inside the exercise region, or at the
    last decision point before an ex date a call should not be held through — where its
    holder exercises (and a short one is assigned). The slack is what holding on could still
    be worth: a millionth of the strike."""
    intrinsic = np.where(is_call[:, None], spot[None, :] - strike[:, None],
                         strike[:, None] - spot[None, :])
    return ((intrinsic > 0.0) & (g.tau > 0.0)
            & (g.price <= intrinsic + EXERCISE_SLACK * strike[:, None]))


class EarlyExercise:
    """American rows exercised before expiry, per (row, path): on the first step a row's
    cell sits in the exercise region (`exercise_region`) the holder exercises — or, short,
    is assigned — and the cell is cash from then on: its intrinsic value at exercise grown
    at r, with no delta, gamma or vega (theta r·cash, so the attribution stays whole). The
    value stays continuous (the price there is the intrinsic value); what changes is the
    risk the hedge sees. `value` sums weight × intrinsic per strategy and path (+ received
    by a long holder, − paid by a short one), `count` the exercises per path."""

    def __init__(self, rows: Legs, n_paths: int, rate: float) -> None:
        self.rows, self.rate = rows, rate
        self.done = np.zeros((rows.size, n_paths), dtype=bool)
        self.cash = np.zeros((rows.size, n_paths))
        self.when = np.zeros((rows.size, n_paths))
        self.value: FloatArray | None = None
        self.count = np.zeros(n_paths)

    def settle(self, alive: NDArray[np.intp], g: RowGreeks, spot: FloatArray, now: float,
               weights: FloatArray) -> None:
        am = self.rows.is_american[alive]
        if not am.any():
            return
        new = exercise_region(g, self.rows.is_call[alive], self.rows.strike[alive], spot)
        new &= am[:, None] & ~self.done[alive]
        if new.any():
            self.done[alive] |= new
            self.cash[alive] = np.where(new, g.price, self.cash[alive])
            self.when[alive] = np.where(new, now, self.when[alive])
            self.count += new.sum(axis=0)
            paid = np.einsum("kn,np->kp", weights[:, alive], np.where(new, g.price, 0.0))
            self.value = paid if self.value is None else self.value + paid
        done = self.done[alive]
        if done.any():
            grown = self.cash[alive] * np.exp(self.rate * (now - self.when[alive])
                                              / SECONDS_PER_YEAR)
            g.price[done] = grown[done]
            g.theta[done] = self.rate * grown[done]
            for figure in (g.delta, g.gamma, g.vega):
                figure[done] = 0.0
