# mypy: ignore-errors
# (numba kernels: types are inferred by numba at compile time, not annotated)
"""Numba kernel: the quasi-explicit raw SVI fit of one smile (Zeliade 2009, De Marco–Martini).

With y = (k − m)/σ, raw SVI is w = a + d y + c √(y² + 1) where d = ρ b σ and c = b σ, which is
linear in x = (a, d, c). For fixed (m, σ) the weighted least squares in x is a 3-variable
strictly convex quadratic program with linear constraints G x ≥ h, solved exactly by the dual
active-set method of Goldfarb & Idnani (1983); the outer problem minimizes its optimal value
over (m, ln σ) by Nelder–Mead from the best STARTS points of a coarse grid (the best wins).

The constraints (rows normalized to unit length):
    |d| ≤ ρ_max c              |ρ| ≤ ρ_max = 0.999 < 1 (and so b ≥ 0)
    c + |d| ≤ 2σ               b (1 + |ρ|) ≤ 2, Lee's bound on the wings
    a + c (f_j − s_j ρ_j) + s_j |d| ≥ 0 for each chord j of f(r) = √(1 − r²) on
        r ∈ {0, 0.5, 0.8, 0.95, ρ_max}: f is concave, so the minimum of its chords lies below
        f and these imply a + b σ √(1 − ρ²) ≥ 0 (a polyhedral inner approximation of the
        exact minimum-variance constraint, giving up at most 0.035 b σ of it)
    c + d ≤ σ S_R, c − d ≤ σ S_L   wings no steeper than the next (longer) expiry's, slopes
                                   S_L, S_R (2 when there is none), so they cannot cross far out
    w(k_j) ≤ w_next(k_j)           calendar: at each k_j of a grid, not above the next expiry's
                                   smile (linear in x for fixed (m, σ))
Expiries are fitted from the longest down: its quotes span the widest range of k, so its wings
are the best determined, and a short expiry's wings - which its few near-the-money quotes
hardly pin down - are held under them.
Butterfly freedom is not linear in x: the outer objective adds an exact (L1) penalty
λ Σ_j max(0, g_min − g(k_j)) on the density g over a k grid, with λ = 10 × the data's
Σ ω w², so (m, σ) with arbitrage lose to any that has none; clean data never pay it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from app.surface._qp_kernel import TOL, goldfarb_idnani

RHO_MAX = 0.999
_NODES = np.array([0.0, 0.5, 0.8, 0.95, RHO_MAX])
#: the density the butterfly penalty asks for (the check accepts g ≥ −1e-9)
G_MIN = 1e-6
_PENALTY = 10.0


def _constraints() -> tuple[np.ndarray, np.ndarray]:
    """G float64[NF, 3] and h / σ float64[NF] of the fixed rows (every bound scales with σ):
    the last two are the wing ceilings, at Lee's 2 unless bounds() sets them."""
    g = [[0.0, -1.0, RHO_MAX], [0.0, 1.0, RHO_MAX], [0.0, -1.0, -1.0], [0.0, 1.0, -1.0]]
    h = [0.0, 0.0, -2.0, -2.0]
    f = np.sqrt(1.0 - _NODES * _NODES)
    for j in range(_NODES.shape[0] - 1):
        s = (f[j + 1] - f[j]) / (_NODES[j + 1] - _NODES[j])
        base = f[j] - s * _NODES[j]
        g += [[1.0, s, base], [1.0, -s, base]]
        h += [0.0, 0.0]
    g += [[0.0, -1.0, -1.0], [0.0, 1.0, -1.0]]
    h += [-2.0, -2.0]
    norm = np.sqrt(np.sum(np.square(g), axis=1))
    return np.array(g) / norm[:, None], np.array(h) / norm


_G, _H_SIGMA = _constraints()
#: Nelder–Mead runs from this many of the coarse grid's best points; the best result wins.
STARTS = 3
NF = _G.shape[0]
_WING_NORM = math.sqrt(2.0)


def bounds(wing_ceiling: tuple[float, float] | None = None) -> np.ndarray:
    """h / σ of the fixed rows, with the wing ceilings (left, right slopes of the next
    expiry's smile) when given."""
    hs = _H_SIGMA.copy()
    if wing_ceiling is not None:
        hs[NF - 2] = -wing_ceiling[1] / _WING_NORM
        hs[NF - 1] = -wing_ceiling[0] / _WING_NORM
    return hs


def workspace(n_calendar: int) -> tuple[np.ndarray, ...]:
    """Scratch arrays (allocated once per fit): rows (the fixed ones filled), bounds, S⁻¹,
    and the Goldfarb–Idnani state."""
    n = NF + n_calendar
    gmat = np.empty((n, 3))
    gmat[:NF] = _G
    return (gmat, np.empty(n), np.empty((3, 3)), np.zeros(3, dtype=np.int64), np.zeros(3),
            np.zeros(3), np.zeros((3, 3)), np.zeros((3, 3)), np.zeros(3), np.zeros(3))


@njit(cache=True, error_model="numpy")
def _inner(m, sig, prob, x, ws):
    """Optimal weighted SSE over x = (a, d, c) for fixed (m, σ); x is filled."""
    k, w, wt, hs, cal_k, cal_w = prob[0], prob[1], prob[2], prob[3], prob[4], prob[5]
    gmat, h, inv = ws[0], ws[1], ws[2]
    s00 = s01 = s02 = s11 = s12 = s22 = 0.0
    r0 = r1 = r2 = ww = 0.0
    inv_sig = 1.0 / sig
    for i in range(k.shape[0]):
        y = (k[i] - m) * inv_sig
        z = math.sqrt(y * y + 1.0)
        q = wt[i]
        qy = q * y
        qz = q * z
        s00 += q
        s01 += qy
        s02 += qz
        s11 += qy * y
        s12 += qy * z
        s22 += qz * z
        r0 += q * w[i]
        r1 += qy * w[i]
        r2 += qz * w[i]
        ww += q * w[i] * w[i]
    ridge = 1e-14 * (s00 + s11 + s22)
    t00 = s00 + ridge
    t11 = s11 + ridge
    t22 = s22 + ridge
    c00 = t11 * t22 - s12 * s12
    c01 = s02 * s12 - s01 * t22
    c02 = s01 * s12 - s02 * t11
    det = t00 * c00 + s01 * c01 + s02 * c02
    if not det > 0.0:
        return np.inf
    inv[0, 0] = c00 / det
    inv[0, 1] = inv[1, 0] = c01 / det
    inv[0, 2] = inv[2, 0] = c02 / det
    inv[1, 1] = (t00 * t22 - s02 * s02) / det
    inv[1, 2] = inv[2, 1] = (s01 * s02 - t00 * s12) / det
    inv[2, 2] = (t00 * t11 - s01 * s01) / det
    x[0] = inv[0, 0] * r0 + inv[0, 1] * r1 + inv[0, 2] * r2
    x[1] = inv[1, 0] * r0 + inv[1, 1] * r1 + inv[1, 2] * r2
    x[2] = inv[2, 0] * r0 + inv[2, 1] * r1 + inv[2, 2] * r2
    # rows: the fixed ones (bounds scale with σ), then calendar rows −[1, y_j, z_j] ≥ −w_next
    nrow = NF + cal_k.shape[0]
    for j in range(NF):
        h[j] = hs[j] * sig
    for j in range(cal_k.shape[0]):
        y = (cal_k[j] - m) * inv_sig
        z = math.sqrt(y * y + 1.0)
        norm = -1.0 / math.sqrt(1.0 + y * y + z * z)
        gmat[NF + j, 0] = norm
        gmat[NF + j, 1] = y * norm
        gmat[NF + j, 2] = z * norm
        h[NF + j] = cal_w[j] * norm
    feasible = True
    for j in range(nrow):
        if gmat[j, 0] * x[0] + gmat[j, 1] * x[1] + gmat[j, 2] * x[2] - h[j] < -TOL:
            feasible = False
            break
    if not feasible and not goldfarb_idnani(inv, gmat, h, nrow, x, ws):
        return np.inf
    sse = s00 * x[0] * x[0] + s11 * x[1] * x[1] + s22 * x[2] * x[2] \
        + 2.0 * (s01 * x[0] * x[1] + s02 * x[0] * x[2] + s12 * x[1] * x[2]) \
        - 2.0 * (r0 * x[0] + r1 * x[1] + r2 * x[2]) + ww
    return max(sse, 0.0)


@njit(cache=True, error_model="numpy")
def _density_shortfall(m, sig, x, grid):
    """Σ_j max(0, G_MIN − g(k_j)) of the smile x = (a, d, c) at (m, σ) over grid."""
    a, d, c = x[0], x[1], x[2]
    b = c / sig
    rho = d / c if c > 0.0 else 0.0
    s2 = sig * sig
    out = 0.0
    for j in range(grid.shape[0]):
        kk = grid[j]
        xm = kk - m
        root = math.sqrt(xm * xm + s2)
        w = a + b * (rho * xm + root)
        if not w > 0.0:
            out += 1.0
            continue
        wk = b * (rho + xm / root)
        wkk = b * s2 / (root * root * root)
        u = 1.0 - kk * wk / (2.0 * w)
        g = u * u - 0.25 * wk * wk * (1.0 / w + 0.25) + 0.5 * wkk
        if g < G_MIN:
            out += G_MIN - g
    return out


@njit(cache=True, error_model="numpy", nogil=True)
def clean_kernel(params, cal_k, cal_w, cal_tol, grid):
    """True when the smile params (a, b, rho, m, sigma) stays on or below cal_w at cal_k
    (relative tolerance cal_tol where |w| > 1) and has a non-negative density on grid."""
    a, b, rho, m, sig = params[0], params[1], params[2], params[3], params[4]
    s2 = sig * sig
    for j in range(cal_k.shape[0]):
        xm = cal_k[j] - m
        w = a + b * (rho * xm + math.sqrt(xm * xm + s2))
        if w > cal_w[j] + cal_tol * max(1.0, abs(cal_w[j])):
            return False
    for j in range(grid.shape[0]):
        kk = grid[j]
        xm = kk - m
        root = math.sqrt(xm * xm + s2)
        w = a + b * (rho * xm + root)
        if not w > 0.0:
            return False
        wk = b * (rho + xm / root)
        u = 1.0 - kk * wk / (2.0 * w)
        if u * u - 0.25 * wk * wk * (1.0 / w + 0.25) + 0.5 * b * s2 / (root * root * root) < 0:
            return False
    return True


@njit(cache=True, error_model="numpy")
def _objective(p, prob, x, ws):
    box = prob[7]
    if p[0] < box[0] or p[0] > box[1] or p[1] < box[2] or p[1] > box[3]:
        return np.inf
    sig = math.exp(p[1])
    f = _inner(p[0], sig, prob, x, ws)
    grid = prob[6]
    if grid.shape[0] and f < np.inf:
        f += box[4] * _density_shortfall(p[0], sig, x, grid)
    return f


@njit(inline="always", cache=True, error_model="numpy")
def _sort3(pts, f):
    """Order the simplex by value in place (best first)."""
    for i in range(1, 3):
        j = i
        while j > 0 and f[j] < f[j - 1]:
            f[j], f[j - 1] = f[j - 1], f[j]
            for c in range(2):
                pts[j, c], pts[j - 1, c] = pts[j - 1, c], pts[j, c]
            j -= 1


@njit(cache=True, error_model="numpy")
def _nelder_mead(prob, start, step, x, ws, max_iter, ftol_abs):
    """Minimize over p = (m, ln σ) from start with an axis simplex of size step; stops when
    the simplex is below 1e-9 or its values agree to 1e-10 relative / ftol_abs absolute."""
    pts = np.empty((3, 2))
    f = np.empty(3)
    for j in range(3):
        pts[j, 0] = start[0]
        pts[j, 1] = start[1]
    pts[1, 0] += step[0]
    pts[2, 1] += step[1]
    for j in range(3):
        f[j] = _objective(pts[j], prob, x, ws)
    trial = np.empty(2)
    trial2 = np.empty(2)
    for _ in range(max_iter):
        _sort3(pts, f)
        size = max(abs(pts[1, 0] - pts[0, 0]), abs(pts[2, 0] - pts[0, 0]),
                   abs(pts[1, 1] - pts[0, 1]), abs(pts[2, 1] - pts[0, 1]))
        if size < 1e-9 or f[2] - f[0] <= ftol_abs + 1e-10 * f[0]:
            break
        cx = 0.5 * (pts[0, 0] + pts[1, 0])
        cy = 0.5 * (pts[0, 1] + pts[1, 1])
        trial[0] = 2.0 * cx - pts[2, 0]
        trial[1] = 2.0 * cy - pts[2, 1]
        fr = _objective(trial, prob, x, ws)
        if fr < f[0]:
            trial2[0] = 3.0 * cx - 2.0 * pts[2, 0]
            trial2[1] = 3.0 * cy - 2.0 * pts[2, 1]
            fe = _objective(trial2, prob, x, ws)
            if fe < fr:
                pts[2, 0], pts[2, 1], f[2] = trial2[0], trial2[1], fe
            else:
                pts[2, 0], pts[2, 1], f[2] = trial[0], trial[1], fr
            continue
        if fr < f[1]:
            pts[2, 0], pts[2, 1], f[2] = trial[0], trial[1], fr
            continue
        if fr < f[2]:  # outside contraction
            trial2[0] = cx + 0.5 * (trial[0] - cx)
            trial2[1] = cy + 0.5 * (trial[1] - cy)
            fc = _objective(trial2, prob, x, ws)
            if fc <= fr:
                pts[2, 0], pts[2, 1], f[2] = trial2[0], trial2[1], fc
                continue
        else:  # inside contraction
            trial2[0] = cx + 0.5 * (pts[2, 0] - cx)
            trial2[1] = cy + 0.5 * (pts[2, 1] - cy)
            fc = _objective(trial2, prob, x, ws)
            if fc < f[2]:
                pts[2, 0], pts[2, 1], f[2] = trial2[0], trial2[1], fc
                continue
        for j in range(1, 3):  # shrink towards the best point
            pts[j, 0] = pts[0, 0] + 0.5 * (pts[j, 0] - pts[0, 0])
            pts[j, 1] = pts[0, 1] + 0.5 * (pts[j, 1] - pts[0, 1])
            f[j] = _objective(pts[j], prob, x, ws)
    best = np.argmin(f)
    start[0] = pts[best, 0]
    start[1] = pts[best, 1]
    return f[best]


@njit(cache=True, error_model="numpy", nogil=True)
def fit_kernel(k, w, wt, hs, cal_k, cal_w, grid, out, ws):
    """Fit raw SVI to total variances w at log-moneyness k with weights wt (float64[n], n ≥ 5,
    wt > 0 summing to 1). hs: bounds(); cal_k, cal_w: the calendar grid and the next
    expiry's total variance on it (empty for none); grid: the butterfly penalty's k grid
    (empty for none); ws: workspace(len(cal_k)). out float64[5] <- (a, b, rho, m, sigma).
    Returns the weighted SSE plus any penalty (inf when no fit was found)."""
    kmin = k.min()
    kmax = k.max()
    span = max(kmax - kmin, 0.05)
    scale = 0.0
    for i in range(k.shape[0]):
        scale += wt[i] * w[i] * w[i]
    box = np.array([kmin - span, kmax + span, math.log(1e-4), math.log(5.0), _PENALTY * scale])
    prob = (k, w, wt, hs, cal_k, cal_w, grid, box)
    x = np.empty(3)
    p = np.empty(2)
    # The coarse grid's best STARTS points (a smile can have more than one basin in (m, σ)).
    tops = np.full(STARTS, np.inf)
    top_p = np.empty((STARTS, 2))
    for gm in range(5):
        for gs in range(4):
            p[0] = kmin + 0.25 * gm * span
            p[1] = math.log(0.02 * 3.3 ** gs)
            f = _objective(p, prob, x, ws)
            j = STARTS - 1
            if f < tops[j]:
                while j > 0 and f < tops[j - 1]:
                    tops[j] = tops[j - 1]
                    top_p[j, 0] = top_p[j - 1, 0]
                    top_p[j, 1] = top_p[j - 1, 1]
                    j -= 1
                tops[j] = f
                top_p[j, 0] = p[0]
                top_p[j, 1] = p[1]
    if not tops[0] < np.inf:
        out[:] = np.nan
        return np.inf
    ftol = 1e-20  # a weighted RMS of 1e-10 in total variance (wt sums to 1)
    start = top_p[0].copy()
    best = np.inf
    step = np.empty(2)
    for j in range(STARTS):
        if not tops[j] < np.inf:
            break
        here = top_p[j].copy()
        step[0] = 0.1 * span
        step[1] = 0.5
        f1 = _nelder_mead(prob, here, step, x, ws, 400, ftol)
        step[0] = 1e-3 * span
        step[1] = 1e-2
        again = here.copy()
        f2 = _nelder_mead(prob, again, step, x, ws, 400, ftol)  # restart: no collapsed simplex
        if f2 < f1:
            here, f1 = again, f2
        if f1 < best:
            best = f1
            start = here
    sig = math.exp(start[1])
    best = _objective(start, prob, x, ws)
    a, d, c = x[0], x[1], x[2]
    out[0] = a
    out[1] = c / sig
    out[2] = d / c if c > 0.0 else 0.0
    out[3] = start[0]
    out[4] = sig
    return best


def warm_up() -> None:
    """Compile (or load from cache) the fit kernel, with and without calendar rows."""
    k = np.linspace(-0.3, 0.3, 7)
    w = 0.04 + 0.1 * (-0.3 * k + np.sqrt(k * k + 0.01))
    wt = np.full(7, 1.0 / 7)
    none = np.empty(0)
    for cal_k in (none, np.array([-0.5, 0.0, 0.5])):
        cal_w = 2.0 * (0.04 + 0.1 * (-0.3 * cal_k + np.sqrt(cal_k * cal_k + 0.01)))
        out = np.empty(5)
        fit_kernel(k, w, wt, bounds(), cal_k, cal_w, k, out, workspace(cal_k.size))
        clean_kernel(out, cal_k, cal_w, 1e-12, k)
