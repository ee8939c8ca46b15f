# mypy: ignore-errors
# (numba kernels: types are inferred by numba at compile time, not annotated)
"""Numba kernel: a strictly convex quadratic program in three unknowns, exactly.

min ½ xᵀ S x − rᵀ x  subject to  G x ≥ h (any number of rows), by the dual active-set method of
Goldfarb & Idnani (1983): start from the unconstrained minimizer, add the most violated
constraint, step in the primal and dual directions, drop a constraint whose multiplier would
turn negative. With three unknowns at most three constraints are active, so every linear
solve is a 3 × 3 (or smaller) Cramer's rule. The workspace holds the active set and the
small matrices so that no evaluation allocates.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: a row counts as violated below −TOL (rows have unit norm)
TOL = 1e-13


@njit(inline="always", cache=True, error_model="numpy")
def _solve_small(mat, q, rhs, out):
    """mat[:q, :q] out = rhs[:q] for q ≤ 3 by Cramer's rule; False when singular."""
    if q == 1:
        if not abs(mat[0, 0]) > 1e-300:
            return False
        out[0] = rhs[0] / mat[0, 0]
        return True
    if q == 2:
        det = mat[0, 0] * mat[1, 1] - mat[0, 1] * mat[1, 0]
        if not abs(det) > 1e-14 * abs(mat[0, 0] * mat[1, 1]):
            return False
        out[0] = (rhs[0] * mat[1, 1] - mat[0, 1] * rhs[1]) / det
        out[1] = (mat[0, 0] * rhs[1] - rhs[0] * mat[1, 0]) / det
        return True
    c00 = mat[1, 1] * mat[2, 2] - mat[1, 2] * mat[2, 1]
    c01 = mat[1, 2] * mat[2, 0] - mat[1, 0] * mat[2, 2]
    c02 = mat[1, 0] * mat[2, 1] - mat[1, 1] * mat[2, 0]
    det = mat[0, 0] * c00 + mat[0, 1] * c01 + mat[0, 2] * c02
    if not abs(det) > 1e-14 * abs(mat[0, 0] * mat[1, 1] * mat[2, 2]):
        return False
    out[0] = (rhs[0] * c00 + mat[0, 1] * (rhs[2] * mat[1, 2] - rhs[1] * mat[2, 2])
              + mat[0, 2] * (rhs[1] * mat[2, 1] - rhs[2] * mat[1, 1])) / det
    out[1] = (mat[0, 0] * (rhs[1] * mat[2, 2] - rhs[2] * mat[1, 2]) + rhs[0] * c01
              + mat[0, 2] * (rhs[2] * mat[1, 0] - rhs[1] * mat[2, 0])) / det
    out[2] = (mat[0, 0] * (rhs[2] * mat[1, 1] - rhs[1] * mat[2, 1])
              + mat[0, 1] * (rhs[1] * mat[2, 0] - rhs[2] * mat[1, 0]) + rhs[0] * c02) / det
    return True


@njit(cache=True, error_model="numpy")
def goldfarb_idnani(inv, gmat, h, nrow, x, ws):
    """Minimize ½xᵀSx − rᵀx s.t. gmat[:nrow] x ≥ h[:nrow], from x = S⁻¹r (in x on entry);
    inv = S⁻¹ (3 × 3); gmat float64[≥nrow, 3] with unit rows; ws: the fit's workspace, whose
    entries 3..9 are this solver's (active set int64[3], multipliers, step, and 3 × 3 scratch).
    True with the optimum in x, False when infeasible (or stuck)."""
    act, ua, z, bmat, mq, rr, tmp = ws[3], ws[4], ws[5], ws[6], ws[7], ws[8], ws[9]
    q = 0
    for _ in range(4 * nrow + 20):
        p = -1
        worst = -TOL
        for j in range(nrow):
            taken = False
            for a in range(q):
                if act[a] == j:
                    taken = True
            if taken:
                continue
            s = gmat[j, 0] * x[0] + gmat[j, 1] * x[1] + gmat[j, 2] * x[2] - h[j]
            if s < worst:
                worst = s
                p = j
        if p < 0:
            return True
        uplus = 0.0
        added = False
        for _step in range(8):
            # v = S⁻¹ n_p; B = S⁻¹ N; M = Nᵀ B; r = M⁻¹ Nᵀ v; z = v − B r
            v0 = inv[0, 0] * gmat[p, 0] + inv[0, 1] * gmat[p, 1] + inv[0, 2] * gmat[p, 2]
            v1 = inv[1, 0] * gmat[p, 0] + inv[1, 1] * gmat[p, 1] + inv[1, 2] * gmat[p, 2]
            v2 = inv[2, 0] * gmat[p, 0] + inv[2, 1] * gmat[p, 1] + inv[2, 2] * gmat[p, 2]
            for a in range(q):
                row = act[a]
                for i in range(3):
                    bmat[i, a] = (inv[i, 0] * gmat[row, 0] + inv[i, 1] * gmat[row, 1]
                                  + inv[i, 2] * gmat[row, 2])
            for a in range(q):
                row = act[a]
                for b in range(q):
                    mq[a, b] = (gmat[row, 0] * bmat[0, b] + gmat[row, 1] * bmat[1, b]
                                + gmat[row, 2] * bmat[2, b])
                tmp[a] = gmat[row, 0] * v0 + gmat[row, 1] * v1 + gmat[row, 2] * v2
            if q and not _solve_small(mq, q, tmp, rr):
                return False
            z[0], z[1], z[2] = v0, v1, v2
            for a in range(q):
                for i in range(3):
                    z[i] -= bmat[i, a] * rr[a]
            t1 = np.inf
            drop = -1
            for a in range(q):
                if rr[a] > 1e-15 and ua[a] / rr[a] < t1:
                    t1 = ua[a] / rr[a]
                    drop = a
            zn = z[0] * gmat[p, 0] + z[1] * gmat[p, 1] + z[2] * gmat[p, 2]
            sp = gmat[p, 0] * x[0] + gmat[p, 1] * x[1] + gmat[p, 2] * x[2] - h[p]
            # with three active constraints in three unknowns the primal step is zero
            t2 = -sp / zn if zn > 1e-14 and q < 3 else np.inf
            t = min(t1, t2)
            if t == np.inf:
                return False
            if t2 < np.inf:
                x[0] += t * z[0]
                x[1] += t * z[1]
                x[2] += t * z[2]
            for a in range(q):
                ua[a] -= t * rr[a]
            uplus += t
            if t2 <= t1:
                act[q] = p
                ua[q] = uplus
                q += 1
                added = True
                break
            for a in range(drop, q - 1):
                act[a] = act[a + 1]
                ua[a] = ua[a + 1]
            q -= 1
        if not added:
            return False
    return False
