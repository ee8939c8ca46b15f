"""The fit's inner QP (Goldfarb–Idnani) against brute force over every active set."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from app.surface._fit_kernel import workspace
from app.surface._qp_kernel import goldfarb_idnani


def _brute_force(s: np.ndarray, r: np.ndarray, g: np.ndarray, h: np.ndarray) -> float:
    """min ½xᵀSx − rᵀx over G x ≥ h: the best feasible equality-constrained minimizer."""
    best = np.inf
    n = g.shape[0]
    for size in range(4):
        for act in combinations(range(n), size):
            a = g[list(act)]
            kkt = np.block([[s, -a.T], [a, np.zeros((size, size))]])
            rhs = np.concatenate([r, h[list(act)]])
            try:
                x = np.linalg.solve(kkt, rhs)[:3]
            except np.linalg.LinAlgError:
                continue
            if np.all(g @ x - h >= -1e-10):
                best = min(best, 0.5 * x @ s @ x - r @ x)
    return best


@pytest.mark.parametrize("seed", range(40))
def test_goldfarb_idnani_finds_the_constrained_minimum(seed):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(3, 3))
    s = m @ m.T + 0.1 * np.eye(3)
    r = rng.normal(size=3) * 3
    n = int(rng.integers(1, 12))
    g = rng.normal(size=(n, 3))
    g /= np.linalg.norm(g, axis=1)[:, None]
    feasible = rng.normal(size=3)
    h = g @ feasible - rng.uniform(0.0, 1.0, n)
    inv = np.linalg.inv(s)
    x = inv @ r
    ws = workspace(n)
    assert goldfarb_idnani(inv, g, h, n, x, ws)
    assert np.all(g @ x - h >= -1e-9)
    assert 0.5 * x @ s @ x - r @ x == pytest.approx(_brute_force(s, r, g, h), rel=1e-9, abs=1e-9)


def test_goldfarb_idnani_reports_an_infeasible_program():
    g = np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    h = np.array([1.0, 0.0])  # x0 ≥ 1 and x0 ≤ 0
    s = np.eye(3)
    x = np.zeros(3)
    assert not goldfarb_idnani(np.linalg.inv(s), g, h, 2, x, workspace(2))
