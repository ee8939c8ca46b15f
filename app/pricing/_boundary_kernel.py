# mypy: ignore-errors
# (numba kernels: types are inferred by numba at compile time, not annotated)
"""Early-exercise boundary of an American put: Andersen–Lake–Offengenden fixed point.

Everything here is in put form with strike 1: a put on S with rates (r, q) is exercised when
S <= K b(τ), τ = time to expiry; a call uses the put boundary of the swapped rates (q, r)
(McDonald–Schroder symmetry C(S, K, r, q) = P(K, S, q, r)), so its boundary is K / b(τ).

The boundary is the fixed point b(τ) = e^{-(r-q)τ} N(τ, b) / D(τ, b) of ALO (2016), in one of
two equivalent forms (d±(s, x) = (ln x + (r-q)s)/(σ√s) ± σ√s/2):
  density form ("FP-A"): N = φ(d-)/(σ√τ) + r ∫_0^τ e^{ru} φ(d-(τ-u, b(τ)/b(u)))/(σ√(τ-u)) du,
      D = φ(d+)/(σ√τ) + Φ(d+) + q ∫ e^{qu} [Φ(d+(τ-u, ·)) + φ(d+(τ-u, ·))/(σ√(τ-u))] du;
  cumulative form ("FP-B"): N = Φ(d-) + r ∫ e^{ru} Φ(d-(τ-u, ·)) du,
      D = Φ(d+) + q ∫ e^{qu} Φ(d+(τ-u, ·)) du.
FP-A contracts much faster (1e-8 in ~6 steps where FP-B needs 20 when q > r) but diverges for
low vols with 2r/σ² large; the caller picks FP-B there (boundary.DENSITY_FORM_LIMIT).
b is held as H(z) = ln(b(τ)/X)², z = 2√(τ/τ_max) - 1 in [-1, 1], by its Chebyshev series on
the n+1 Lobatto points z_j = cos(jπ/n) (H(-1) = 0: b(0+) = X = min(1, r/q)): H is smooth in
√τ where b is not (b ≈ X(1 - σ√(τ ln(1/τ)))). Start: Li's QD+ approximation at each node
(Halley steps); then one partial Jacobi–Newton step and plain fixed-point steps. The
integrals are split at τ/2 and each half is integrated by Gauss–Legendre in the square root
of the distance to its end (u = v² near u = 0, τ - u = w² near u = τ), which removes both
square-root endpoint singularities (QuantLib's QdFp uses plain Gauss–Legendre in u or
tanh-sinh instead). The result does not depend on spot, strike (scale) or the option's own
maturity: one solve up to τ_max serves every option with the same (σ, r, q) and τ <= τ_max.

Regimes (put form, rates (r, q)): r > 0, or r = 0 and q < 0: one boundary, solved here;
r <= 0 and q >= r: early exercise is never optimal (the European value); r < 0 and q < r: two
boundaries (Andersen–Lake 2021), not solved here (priced on the finite-difference grid).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from app.pricing._special import exp_, norm_cdf, norm_pdf

REGIME_EARLY, REGIME_EUROPEAN, REGIME_DOUBLE = 0, 1, 2

_JIT = {"cache": True, "error_model": "numpy", "fastmath": {"contract"}}


@njit(inline="always", **_JIT)
def boundary_at_expiry(rp, qp):
    """X = b(0+) for the put form, strike 1 (REGIME_EARLY only)."""
    return rp / qp if qp > rp else 1.0


@njit(**_JIT)
def qd_plus(rp, qp, sigma, tau, x_max):
    """Li's QD+ approximation of b(τ) (strike 1), solved by Halley steps from X."""
    s2 = sigma * sigma
    v = sigma * math.sqrt(tau)
    dr = math.exp(-rp * tau)
    dq = math.exp(-qp * tau)
    if abs(rp * tau) > 1e-5:
        ddr = rp / (1.0 - dr)
    else:
        ddr = 1.0 / (tau * (1.0 - 0.5 * rp * tau * (1.0 - rp * tau / 3.0)))
    om = 2.0 * (rp - qp) / s2
    root = math.sqrt((om - 1.0) ** 2 + 8.0 * ddr / s2)
    lam = 0.5 * (-(om - 1.0) - root)
    lam_p = 2.0 * ddr * ddr / (s2 * root)
    alpha = 2.0 * dr / (s2 * (2.0 * lam + om - 1.0))
    beta = alpha * (ddr + lam_p / (2.0 * lam + om - 1.0)) - lam
    x_min = 2.220446049250313e-12 * x_max
    x = x_max
    for _ in range(60):
        s = max(x, 1e-300)
        dp = math.log(s * dq / dr) / v + 0.5 * v
        dm = dp - v
        n_dp = norm_cdf(-dp)
        n_dm = norm_cdf(-dm)
        p_dp = norm_pdf(dp)
        npv = dr * n_dm - s * dq * n_dp
        theta = rp * dr * n_dm - qp * s * dq * n_dp - s2 * s / (2.0 * v) * dq * p_dp
        charm = -dq * (p_dp * ((rp - qp) / v - dm / (2.0 * tau)) + qp * n_dp)
        gap = 1.0 - s - npv
        if abs(gap) < 1e-14:
            fx = (1.0 - dq * n_dp) * s + alpha * theta / dr
        else:
            c0 = -beta - lam + alpha * theta / (dr * gap)
            fx = (1.0 - dq * n_dp) * s + (lam + c0) * gap
        fp = (1.0 - dq * n_dp + dq / v * p_dp + beta * (1.0 - dq * n_dp) + alpha / dr * charm)
        gamma = p_dp * dq / (v * s)
        colour = gamma * (qp + (rp - qp) * dp / v + (1.0 - dp * dm) / (2.0 * tau))
        fpp = dq * (p_dp / (s * v) - p_dp * dp / (s * v * v)) + beta * gamma + alpha / dr * colour
        lf = fx * fpp / (fp * fp)
        step = fx / fp / (1.0 - 0.5 * lf)
        x_old = x
        x = max(x_min, x - step)
        if not (abs(x - x_old) >= 1e-12):  # also stops on NaN
            break
    if not (x_min <= x <= x_max):
        x = x_max if not (x >= x_min) else min(x, x_max)
    return x


@njit(**_JIT)
def chebyshev_coefficients(values, cos_table, out):
    """Series coefficients a_k (Σ a_k T_k) of the values at z_j = cos(jπ/n), j = 0..n."""
    n = values.shape[0] - 1
    for k in range(n + 1):
        s = 0.5 * (values[0] + values[n] * cos_table[k, n])
        for j in range(1, n):
            s += values[j] * cos_table[k, j]
        out[k] = s * (2.0 / n)
    out[0] *= 0.5
    out[n] *= 0.5


def cosine_table(n: int) -> np.ndarray:
    """cos(jkπ/n) for j, k = 0..n: the discrete cosine transform of chebyshev_coefficients."""
    j = np.arange(n + 1)
    return np.cos(np.outer(j, j) * np.pi / n)


@njit(**_JIT)
def solve_put_boundaries(rp, qp, sigma, t_max, n, iterations, gl_x, gl_w, cos_table,
                         out_values, out_coef, cumulative):
    """Solve m put boundaries (strike 1): rp, qp, sigma, t_max: float64[m] (REGIME_EARLY
    cases only). gl_x, gl_w: Gauss–Legendre nodes/weights on [-1, 1] for each half of the
    fixed-point integrals. Writes H at the Lobatto nodes (out_values[m, n+1], node j at
    τ_j = τ_max ((1 + cos(jπ/n))/2)²) and its Chebyshev coefficients (out_coef[m, n+1]).

    Fixed-point form "FP-A" of ALO (the derivative form, with the normal density), which
    contracts much faster than the cumulative form when q > r:
        N = φ(d-)/(σ√τ) + r ∫ e^{ru} φ(d-(τ-u, b(τ)/b(u)))/(σ√(τ-u)) du
        D = φ(d+)/(σ√τ) + Φ(d+) + q ∫ e^{qu} [Φ(d+(τ-u, ·)) + φ(d+(τ-u, ·))/(σ√(τ-u))] du
    The first step is a partial Jacobi–Newton step (derivatives of the non-integral terms)."""
    m_pts = gl_x.shape[0]
    npts = 2 * m_pts
    total = n * npts  # nodes 0..n-1 (node n is τ = 0, where H = 0)
    taus = np.empty(n + 1)
    # Per quadrature point (flat): u, s = τ_j - u, weights, Chebyshev abscissa, node index.
    u_p = np.empty(total)
    s_p = np.empty(total)
    w_p = np.empty(total)
    z_p = np.empty(total)
    lb_p = np.empty(total)
    h_p = np.empty(total)
    c_n = np.empty(total)
    c_d = np.empty(total)
    b1 = np.empty(total)
    b2 = np.empty(total)
    y = np.empty(n + 1)
    coef = np.empty(n + 1)
    for case in range(rp.shape[0]):
        r = rp[case]
        q = qp[case]
        sig = sigma[case]
        big_t = t_max[case]
        x_max = boundary_at_expiry(r, q)
        log_x = math.log(x_max)
        for j in range(n + 1):
            zj = math.cos(j * math.pi / n)
            taus[j] = big_t * (0.5 * (1.0 + zj)) ** 2
        y[n] = 0.0
        for j in range(n):
            tau = taus[j]
            b = qd_plus(r, q, sig, tau, x_max)
            y[j] = math.log(b / x_max) ** 2
            half = math.sqrt(0.5 * tau)
            for i in range(m_pts):
                v = 0.5 * half * (gl_x[i] + 1.0)
                # First half: u = v² (du = 2v dv); second half: τ - u = v², where the
                # 1/√(τ-u) of the integrands cancels the Jacobian 2v (kept as separate
                # factors: s_p is exact there).
                k1 = j * npts + i
                k2 = k1 + m_pts
                u_p[k1] = v * v
                s_p[k1] = tau - v * v
                u_p[k2] = tau - v * v
                s_p[k2] = v * v
                w_p[k1] = gl_w[i] * half * v
                w_p[k2] = gl_w[i] * half * v
        for k in range(total):
            z_p[k] = 2.0 * math.sqrt(u_p[k] / big_t) - 1.0
        chebyshev_coefficients(y, cos_table, coef)
        for it in range(iterations):
            _clenshaw_flat(coef, z_p, h_p, b1, b2)
            for j in range(n):
                lb = log_x - math.sqrt(max(y[j], 0.0))
                for i in range(npts):
                    lb_p[j * npts + i] = lb
            # Integrand of N (c_n) and of D (c_d) at every point: branch-free loops (one
            # per form) that vectorize.
            if cumulative[case]:
                for k in range(total):
                    s = s_p[k]
                    vs = sig * math.sqrt(s)
                    lbu = log_x - math.sqrt(max(h_p[k], 0.0))
                    dpk = (lb_p[k] - lbu + (r - q) * s) / vs + 0.5 * vs
                    u = u_p[k]
                    w = w_p[k]
                    c_n[k] = w * exp_(r * u) * norm_cdf(dpk - vs)
                    c_d[k] = w * exp_(q * u) * norm_cdf(dpk)
            else:
                for k in range(total):
                    s = s_p[k]
                    vs = sig * math.sqrt(s)
                    lbu = log_x - math.sqrt(max(h_p[k], 0.0))
                    dpk = (lb_p[k] - lbu + (r - q) * s) / vs + 0.5 * vs
                    u = u_p[k]
                    w = w_p[k]
                    inv = 1.0 / vs
                    c_n[k] = w * exp_(r * u) * norm_pdf(dpk - vs) * inv
                    c_d[k] = w * exp_(q * u) * (norm_cdf(dpk) + norm_pdf(dpk) * inv)
            for j in range(n):
                tau = taus[j]
                ni = 0.0
                di = 0.0
                for i in range(npts):
                    ni += c_n[j * npts + i]
                    di += c_d[j * npts + i]
                b = x_max * math.exp(-math.sqrt(max(y[j], 0.0)))
                v = sig * math.sqrt(tau)
                dp = (math.log(b) + (r - q) * tau) / v + 0.5 * v
                dm = dp - v
                pdp = norm_pdf(dp)
                pdm = norm_pdf(dm)
                if cumulative[case]:
                    nn = norm_cdf(dm) + r * ni
                    dd = norm_cdf(dp) + q * di
                else:
                    nn = pdm / v + r * ni
                    dd = pdp / v + norm_cdf(dp) + q * di
                carry = math.exp(-(r - q) * tau)
                fv = carry * nn / dd
                b_new = fv
                if it == 0:
                    if cumulative[case]:
                        n_d = pdm / (b * v)
                        d_d = pdp / (b * v)
                    else:
                        n_d = -pdm * dm / (b * v * v)
                        d_d = -pdp * dp / (b * v * v) + pdp / (b * v)
                    fd = carry * (n_d / dd - d_d * nn / (dd * dd))
                    jn = b - (fv - b) / (fd - 1.0)
                    b_new = jn if 0.0 < jn <= x_max else fv
                b_new = min(max(b_new, 1e-300), x_max)
                # Jacobi update: every node from the same previous boundary (y[j] is only
                # read for node j itself above, so updating in place is safe).
                y[j] = math.log(b_new / x_max) ** 2
            chebyshev_coefficients(y, cos_table, coef)
        for j in range(n + 1):
            out_values[case, j] = y[j]
            out_coef[case, j] = coef[j]


@njit(inline="always", **_JIT)
def _clenshaw_flat(coef, z, out, b1, b2):
    """out[i] = Σ_k coef[k] T_k(z[i]), four points at a time so that four independent
    recurrences overlap in registers. b1, b2: unused scratch (kept for the signature)."""
    n = coef.shape[0] - 1
    m = z.shape[0]
    i = 0
    while i + 4 <= m:
        z0 = 2.0 * z[i]
        z1 = 2.0 * z[i + 1]
        z2 = 2.0 * z[i + 2]
        z3 = 2.0 * z[i + 3]
        a0 = a1 = a2 = a3 = 0.0
        c0 = c1 = c2 = c3 = 0.0
        for k in range(n, 0, -1):
            ck = coef[k]
            t0 = z0 * a0 - c0 + ck
            t1 = z1 * a1 - c1 + ck
            t2 = z2 * a2 - c2 + ck
            t3 = z3 * a3 - c3 + ck
            c0 = a0
            c1 = a1
            c2 = a2
            c3 = a3
            a0 = t0
            a1 = t1
            a2 = t2
            a3 = t3
        out[i] = 0.5 * z0 * a0 - c0 + coef[0]
        out[i + 1] = 0.5 * z1 * a1 - c1 + coef[0]
        out[i + 2] = 0.5 * z2 * a2 - c2 + coef[0]
        out[i + 3] = 0.5 * z3 * a3 - c3 + coef[0]
        i += 4
    while i < m:
        out[i] = clenshaw(coef, z[i])
        i += 1


@njit(inline="always", **_JIT)
def clenshaw(coef, z):
    """Σ_k coef[k] T_k(z)."""
    n = coef.shape[0] - 1
    b1 = 0.0
    b2 = 0.0
    for k in range(n, 0, -1):
        t = 2.0 * z * b1 - b2 + coef[k]
        b2 = b1
        b1 = t
    return z * b1 - b2 + coef[0]


@njit(inline="always", **_JIT)
def log_boundary(coef, u, t_max, log_x):
    """ln b(u) for the put form: ln X - √H(z(u))."""
    z = 2.0 * math.sqrt(max(u, 0.0) / t_max) - 1.0
    return log_x - math.sqrt(max(clenshaw(coef, z), 0.0))

