# mypy: ignore-errors
# (numba kernels: types are inferred by numba at compile time, not annotated)
"""American price and nine figures from a cached exercise boundary (integral representation).

For φ = +1 (call) / -1 (put), boundary B(u) (u = time to expiry), s = time from now:
    V(S, τ) = v_E(S, τ) + ∫_0^τ g(s, S, B(τ - s)) ds
    g = φ [q S e^{-qs} Φ(φ d+) - r K e^{-rs} Φ(φ d-)],  d± = (ln(S/B) + (r-q)s)/(σ√s) ± σ√s/2
(Kim 1990; Andersen–Lake–Offengenden 2016). The boundary does not depend on S, so delta,
gamma and the third derivative are the S-derivatives of g under the integral, exactly. vega,
volga, vanna and rho also move the boundary: with λ(u) = ln(B(u)/K) and its σ- and
r-derivatives from the boundary state, dV/dσ = ∫ (g_σ + g_B B λ_σ) ds and so on (the total
derivatives, not the boundary-held-fixed ones). theta and charm come from the Black–Scholes
PDE, which V satisfies in the continuation region: θ = rV - (r-q)SΔ - σ²S²Γ/2, and its
S-derivative. With D = e^{-rs} n(d-) and M = qB - rK (identity S e^{-qs} n(d+) = B e^{-rs} n(d-)):
    g_S  = φ q e^{-qs} Φ(φd+) + D M/(S a)          (a = σ√s)
    g_SS = D (rK - M d-/a)/(a S²)
    g_SSS = D (-(d-/a + 2)(rK - M d-/a) - M/a²)/(a S³)
    g_B  = -D M/(B a)    g_BB = -D (M d-/a + rK)/(a B²)    g_SB = D d- M/(S B a²)
    g_σ  = D (qBa - M d+)/σ    g_σσ = D (d+d-(qBa - M d+) + M(d+ + d-))/σ²
    g_σB = -M D (d+d- - 1)/(σ B a)    g_Sσ = D (-qB d- + M(d+d- - 1)/a)/(S σ)
    g_r  = -φ K e^{-rs}(1 - rs) Φ(φd-) + D M s/a    g_q = φ S e^{-qs}(1 - qs) Φ(φd+) - D M s/a

Quadrature, per option: the integrand of g_SS has a spike of fixed area at s ~ (ln(S/B)/σ)²
that shrinks to a point as spot nears the boundary (gamma stays finite), so the first half of
the time (s <= τ/2) is integrated in ln √s, from where the integrand is below e^{-CUTOFF²/2}
up to √(τ/2), in pieces of at most PIECE_LOG in ln √s with PIECE_NODES Gauss–Legendre points
each (one or two pieces for most options, up to ~10 within 1e-10 of the boundary); the
second half (u = τ - s <= τ/2) in √u with TAIL_NODES points, which tames the square-root
behaviour of the boundary near expiry.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from app.pricing._boundary_kernel import REGIME_EARLY, REGIME_EUROPEAN, clenshaw
from app.pricing._kernels import SV_FLOOR, _at, _edge, _one
from app.pricing._special import exp_, log_, norm_tail

_INV_SQRT_2PI = 0.3989422804014327

PIECE_NODES = 10
PIECE_LOG = 2.5
TAIL_NODES = 12
#: The first-half integration starts where |d±| >= CUTOFF (integrand < 1e-17 relative).
CUTOFF = 8.5
#: Closer than this (in ln S/B) to the boundary, spot is taken as this far (gamma limit).
MIN_LOG_DISTANCE = 1e-10
MAX_PIECES = 16
MAX_NODES = MAX_PIECES * PIECE_NODES + TAIL_NODES

_PIECE_X, _PIECE_W = np.polynomial.legendre.leggauss(PIECE_NODES)
_TAIL_X, _TAIL_W = np.polynomial.legendre.leggauss(TAIL_NODES)

# Columns of the state's per-panel float table.
PF_LOG_VOL_LO, PF_LOG_VOL_HI, PF_RATE, PF_DIV, PF_T_MAX, PF_LOG_X = range(6)
PF_COLUMNS = 6
# Columns of the per-panel int table.
PI_CALL, PI_BLACK76, PI_REGIME, PI_FIRST_SLOT, PI_NODES = range(5)
PI_COLUMNS = 5

_JIT = {"cache": True, "error_model": "numpy", "fastmath": {"contract"}}


@njit(inline="always", **_JIT)
def _lagrange(xs, first, p, x, w0, w1, w2):
    """Lagrange basis at x over the nodes xs[first:first+p] and its 1st/2nd derivatives."""
    for k in range(p):
        v0 = 1.0
        v1 = 0.0
        v2 = 0.0
        xk = xs[first + k]
        for m in range(p):
            if m == k:
                continue
            den = 1.0 / (xk - xs[first + m])
            f = (x - xs[first + m]) * den
            v2 = v2 * f + 2.0 * v1 * den
            v1 = v1 * f + v0 * den
            v0 = v0 * f
        w0[k] = v0
        w1[k] = v1
        w2[k] = v2


@njit(inline="always", **_JIT)
def _series5(c0, c1, c2, c3, c4, z):
    """Five Chebyshev series of the same degree at one point: five independent Clenshaw
    recurrences interleaved in registers (no memory traffic, the CPU overlaps the chains)."""
    z2 = 2.0 * z
    a1 = a2 = b1 = b2 = e1 = e2 = d1 = d2 = f1 = f2 = 0.0
    for k in range(c0.shape[0] - 1, 0, -1):
        t = z2 * a1 - a2 + c0[k]
        a2 = a1
        a1 = t
        t = z2 * b1 - b2 + c1[k]
        b2 = b1
        b1 = t
        t = z2 * e1 - e2 + c2[k]
        e2 = e1
        e1 = t
        t = z2 * d1 - d2 + c3[k]
        d2 = d1
        d1 = t
        t = z2 * f1 - f2 + c4[k]
        f2 = f1
        f1 = t
    return (z * a1 - a2 + c0[0], z * b1 - b2 + c1[0], z * e1 - e2 + c2[0],
            z * d1 - d2 + c3[0], z * f1 - f2 + c4[0])


@njit(inline="always", **_JIT)
def _ncdf(x):
    a = abs(x)
    t = norm_tail(a, exp_(-0.5 * a * a))
    return 1.0 - t if x > 0.0 else t


@njit(inline="always", **_JIT)
def _boundary_at(h, hs, hss, hu, hd, sg, log_x, bump, k):
    """Boundary quantities at one point from the series values there: (ln B, B, ∂B/∂σ,
    ∂²B/∂σ², ∂B/∂r). h, hs, hss: H and its σ, σσ derivatives; hu, hd: H of the rate-bumped
    boundaries; bump: (ln X up, ln X down, 1/(h_up + h_down))."""
    hi = max(h, 0.0)
    rh = math.sqrt(hi)
    inv = 0.5 / rh if hi > 1e-24 else 0.0
    lam = sg * (log_x - rh)
    lam_s = -sg * hs * inv
    lam_ss = -sg * (hss * inv - hs * hs * inv * inv * inv * 2.0)
    bb = k * exp_(lam)
    # ∂λ/∂r: the difference of the bumped boundaries at this very point (not a series of
    # its own, which would smear the fast change near expiry when r ≈ q).
    lam_up = bump[0] - math.sqrt(max(hu, 0.0))
    lam_dn = bump[1] - math.sqrt(max(hd, 0.0))
    return (log_(k) + lam, bb, bb * lam_s, bb * (lam_ss + lam_s * lam_s),
            bb * sg * (lam_up - lam_dn) * bump[2])


@njit(inline="always", **_JIT)
def _node(s, w, log_b, bb, b_s, b_ss, b_r, s_, log_s, k, vol, r, q, b76, phi):
    """Weighted contributions of one quadrature node (s from now; the boundary there: ln B,
    B and its σ, σσ, r derivatives) to the premium and its derivatives: (E, E_S, E_SS,
    E_SSS, E_σ, E_Sσ, E_σσ, E_r) terms. Branch-free (selects), so loops over it vectorize."""
    inv_b = 1.0 / bb
    a = vol * math.sqrt(s)
    inv_a = 1.0 / a
    inv_s = 1.0 / s_
    inv_v = 1.0 / vol
    dp = (log_s - log_b + (r - q) * s) * inv_a + 0.5 * a
    dm = dp - a
    eq = exp_(-q * s)
    er_ = exp_(-r * s)
    em = exp_(-0.5 * dm * dm)
    ep = em * (bb * er_) * inv_s / eq  # S e^{-qs} n(d+) = B e^{-rs} n(d-)
    tp = norm_tail(abs(dp), ep)
    tm = norm_tail(abs(dm), em)
    np_ = 1.0 - tp if phi * dp > 0.0 else tp  # Φ(φ d+)
    nm_ = 1.0 - tm if phi * dm > 0.0 else tm  # Φ(φ d-)
    dd = er_ * _INV_SQRT_2PI * em
    mm = q * bb - r * k
    dpm = dp * dm
    qba = q * bb * a - mm * dp
    g = phi * (q * s_ * eq * np_ - r * k * er_ * nm_)
    g_s = phi * q * eq * np_ + dd * mm * inv_a * inv_s
    core = r * k - mm * dm * inv_a
    g_ss = dd * core * inv_a * inv_s * inv_s
    g_sss = dd * inv_a * inv_s * inv_s * inv_s * (-(dm * inv_a + 2.0) * core
                                                   - mm * inv_a * inv_a)
    g_b = -dd * mm * inv_a * inv_b
    g_bb = -dd * inv_a * inv_b * inv_b * (mm * dm * inv_a + r * k)
    g_sb = dd * dm * mm * inv_a * inv_a * inv_s * inv_b
    g_v = dd * qba * inv_v
    g_vv = dd * (dpm * qba + mm * (dp + dm)) * inv_v * inv_v
    g_vb = -mm * dd * (dpm - 1.0) * inv_a * inv_v * inv_b
    g_sv = dd * (-q * bb * dm + mm * (dpm - 1.0) * inv_a) * inv_s * inv_v
    g_r = -phi * k * er_ * (1.0 - r * s) * nm_ + dd * mm * s * inv_a
    g_q = phi * s_ * eq * (1.0 - q * s) * np_ - dd * mm * s * inv_a
    return (w * g, w * g_s, w * g_ss, w * g_sss, w * (g_v + g_b * b_s),
            w * (g_sv + g_sb * b_s),
            w * (g_vv + 2.0 * g_vb * b_s + g_bb * b_s * b_s + g_b * b_ss),
            w * (g_r + b76 * g_q + g_b * b_r))


@njit(inline="always", **_JIT)
def _layout(call, s_, k, tau, vol, r, q, log_x, t_max, ch, s_pts, w_pts):
    """Quadrature nodes of one option: fills s_pts, w_pts and returns their number, or -1
    when spot is in the exercise region, 0 when the premium is negligible."""
    sg = 1.0 if not call else -1.0  # λ = sg (ln X - √H)
    phi = -sg
    z_tau = 2.0 * math.sqrt(min(tau / t_max, 1.0)) - 1.0
    lam_tau = sg * (log_x - math.sqrt(max(clenshaw(ch, z_tau), 0.0)))
    lsk = log_(s_ / k)
    dist = phi * (lam_tau - lsk)  # ln(S/B(τ)) for a put, ln(B(τ)/S) for a call
    if dist <= 0.0:
        return -1
    beta = abs(r - q) / vol + 0.5 * vol
    # Nowhere near the boundary over the whole life (B(u) lies between B(τ) and the
    # expiry value K X): every |d±| > CUTOFF, the premium is below e^{-CUTOFF²/2} relative.
    far = phi * (sg * log_x - lsk)
    if far > 0.0:
        lf = far / vol
        if 2.0 * lf / (CUTOFF + math.sqrt(CUTOFF * CUTOFF + 4.0 * beta * lf)) >= math.sqrt(tau):
            return 0
    # First half, in ln √s from z_lo to √(τ/2): below z_lo every |d±| > CUTOFF.
    half = math.sqrt(0.5 * tau)
    ls = max(dist, MIN_LOG_DISTANCE) / vol
    z_lo = 2.0 * ls / (CUTOFF + math.sqrt(CUTOFF * CUTOFF + 4.0 * beta * ls))
    n_pts = 0
    if z_lo < half:
        span = math.log(half / z_lo)
        pieces = min(math.ceil(span / PIECE_LOG), MAX_PIECES)
        step = span / pieces
        base = 2.0 * math.log(z_lo)
        for pc in range(pieces):
            for i in range(PIECE_NODES):
                s = exp_(base + (2 * pc + 1.0 + _PIECE_X[i]) * step)  # ln s = 2 ln √s
                s_pts[n_pts + i] = s
                w_pts[n_pts + i] = _PIECE_W[i] * step * s  # ds = 2 s d(ln √s), × step/2
            n_pts += PIECE_NODES
    # Second half, in √u (u = τ - s).
    for i in range(TAIL_NODES):
        v = 0.5 * half * (_TAIL_X[i] + 1.0)
        s_pts[n_pts + i] = tau - v * v
        w_pts[n_pts + i] = _TAIL_W[i] * half * v
    return n_pts + TAIL_NODES


@njit(**_JIT)
def _premium(call, s_, k, tau, vol, r, q, black76, log_x, bump, t_max, ch, chs, chss, cup, cdn,
             scratch):
    """Early-exercise premium and its derivatives for one option.

    ch, chs, chss: Chebyshev coefficients of H(σ), ∂H/∂σ, ∂²H/∂σ² at the option's vol; cup,
    cdn: of H for the rate-bumped boundaries; bump = (ln X up, ln X down, 1/(h_up + h_down))
    (put form, in the option's own rate; 1/(...) = 0 without rho). Returns (exercise, E,
    E_S, E_SS, E_SSS, E_σ, E_Sσ, E_σσ, E_r), exercise = True when spot is in the exercise
    region (the other values are then 0). scratch: float64[15, >= MAX_NODES]."""
    s_pts = scratch[0]
    w_pts = scratch[1]
    n_pts = _layout(call, s_, k, tau, vol, r, q, log_x, t_max, ch, s_pts, w_pts)
    if n_pts <= 0:
        return n_pts < 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    sg = 1.0 if not call else -1.0
    phi = -sg
    b76 = 1.0 if black76 else 0.0
    # The boundary at every node (four interleaved Clenshaw recurrences per node) ...
    h = scratch[2]
    hs = scratch[3]
    hss = scratch[4]
    hu = scratch[5]
    hd = scratch[14]
    for i in range(n_pts):
        u = max(tau - s_pts[i], 0.0)
        h[i], hs[i], hss[i], hu[i], hd[i] = _series5(ch, chs, chss, cup, cdn,
                                                     2.0 * math.sqrt(u / t_max) - 1.0)
    # ... then the integrand at every node in one branch-free loop (vectorizes).
    log_s = log_(s_)
    for i in range(n_pts):
        nb = _boundary_at(h[i], hs[i], hss[i], hu[i], hd[i], sg, log_x, bump, k)
        c = _node(s_pts[i], w_pts[i], nb[0], nb[1], nb[2], nb[3], nb[4], s_, log_s, k, vol, r, q,
                  b76, phi)
        scratch[6, i] = c[0]
        scratch[7, i] = c[1]
        scratch[8, i] = c[2]
        scratch[9, i] = c[3]
        scratch[10, i] = c[4]
        scratch[11, i] = c[5]
        scratch[12, i] = c[6]
        scratch[13, i] = c[7]
    t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = 0.0
    for i in range(n_pts):
        t0 += scratch[6, i]
        t1 += scratch[7, i]
        t2 += scratch[8, i]
        t3 += scratch[9, i]
        t4 += scratch[10, i]
        t5 += scratch[11, i]
        t6 += scratch[12, i]
        t7 += scratch[13, i]
    return False, t0, t1, t2, t3, t4, t5, t6, t7


@njit(inline="always", **_JIT)
def _at_vol(slot_log_vol, h_coef, hb_coef, slot_bump, first, p, lv, v, w0, w1, w2, ch, chs,
            chss, cup, cdn):
    """Interpolate a panel's slots to ln σ = lv: the series of H, ∂H/∂σ, ∂²H/∂σ² and of the
    rate-bumped H's into ch, chs, chss, cup, cdn; returns the slot's bump triple."""
    _lagrange(slot_log_vol, first, p, lv, w0, w1, w2)
    inv_v = 1.0 / v
    deg1 = h_coef.shape[1]
    for c in range(deg1):
        ch[c] = 0.0
        chs[c] = 0.0
        chss[c] = 0.0
        cup[c] = 0.0
        cdn[c] = 0.0
    # d/dσ = (1/σ) d/d ln σ;  d²/dσ² = (d²/d(ln σ)² - d/d ln σ)/σ²  (rows are contiguous:
    # the loop over coefficients vectorizes)
    for m in range(p):
        a0 = w0[m]
        a1 = w1[m] * inv_v
        a2 = (w2[m] - w1[m]) * inv_v * inv_v
        row = first + m
        for c in range(deg1):
            hc = h_coef[row, c]
            ch[c] += a0 * hc
            chs[c] += a1 * hc
            chss[c] += a2 * hc
            cup[c] += a0 * hb_coef[row, 0, c]
            cdn[c] += a0 * hb_coef[row, 1, c]
    # The bumps' ln X and step are the same for every slot of a panel.
    return slot_bump[first, 0], slot_bump[first, 1], slot_bump[first, 2]


@njit(**_JIT)
def american_kernel(is_call, spot, strike, t, vol, rate, div, black76, panels_f, panels_i,
                    slot_log_vol, h_coef, hb_coef, slot_bump, panel, out):
    """Fill out[(9, N)] for American options; spot/rate/div scalars or float64[N].

    panel: int64[N], the boundary panel of each option in the state (panels_f, panels_i,
    slot_log_vol, h_coef, hb_coef, slot_bump; see boundary.py). An option whose panel does not match
    it (kind, model, rate, dividend yield, t > t_max, vol outside the panel, index < 0)
    gets NaN figures: a stale state never prices silently. Returns the number of such."""
    n_opt = strike.shape[0]
    deg1 = h_coef.shape[1]
    w0 = np.empty(16)
    w1 = np.empty(16)
    w2 = np.empty(16)
    ch = np.empty(deg1)
    chs = np.empty(deg1)
    chss = np.empty(deg1)
    cup = np.empty(deg1)
    cdn = np.empty(deg1)
    scratch = np.empty((15, MAX_NODES))
    stale = 0
    last_panel = -1
    last_vol = np.nan
    bump = (0.0, 0.0, 0.0)
    for i in range(n_opt):
        call = is_call[i]
        s_ = _at(spot, i)
        r = _at(rate, i)
        q = r if black76 else _at(div, i)
        k = strike[i]
        ti = t[i]
        v = vol[i]
        pi = panel[i]
        ok = 0 <= pi < panels_i.shape[0]
        if ok:
            ok = ((panels_i[pi, PI_CALL] == 1) == call) and ((panels_i[pi, PI_BLACK76] == 1)
                                                             == black76)
            ok = ok and panels_f[pi, PF_RATE] == r and (black76 or panels_f[pi, PF_DIV] == q)
        if not ok:
            stale += 1
            for row in range(9):
                out[row, i] = np.nan
            continue
        if ti <= 0.0:
            intrinsic = s_ - k if call else k - s_
            itm = intrinsic > 0.0
            out[0, i] = intrinsic if itm else 0.0
            out[1, i] = (1.0 if call else -1.0) if itm else 0.0
            for row in range(2, 9):
                out[row, i] = 0.0
            continue
        regime = panels_i[pi, PI_REGIME]
        t_max = panels_f[pi, PF_T_MAX]
        lv = math.log(v) if v > 0.0 else -np.inf
        lo = panels_f[pi, PF_LOG_VOL_LO]
        hi = panels_f[pi, PF_LOG_VOL_HI]
        if regime == REGIME_EARLY and not (ti <= t_max * (1.0 + 1e-12)
                                           and lo - 1e-12 <= lv <= hi + 1e-12):
            stale += 1
            for row in range(9):
                out[row, i] = np.nan
            continue
        if regime != REGIME_EARLY and regime != REGIME_EUROPEAN:
            # Two boundaries (r < 0, q < r for a put): not priced here.
            for row in range(9):
                out[row, i] = np.nan
            continue
        eu = _one(call, s_, k, ti, v, r, q, black76)
        for row in range(9):
            out[row, i] = eu[row]
        if regime == REGIME_EUROPEAN:
            if v * math.sqrt(ti) < SV_FLOOR:
                _edge(call, s_, k, ti, v, r, q, black76, out, i)
            continue
        if pi != last_panel or v != last_vol:
            # The boundary at this vol (a book with one vol per panel does this once).
            last_panel = pi
            last_vol = v
            bump = _at_vol(slot_log_vol, h_coef, hb_coef, slot_bump,
                           panels_i[pi, PI_FIRST_SLOT], panels_i[pi, PI_NODES], lv, v, w0, w1,
                           w2, ch, chs, chss, cup, cdn)
        res = _premium(call, s_, k, ti, v, r, q, black76, panels_f[pi, PF_LOG_X], bump,
                       t_max, ch, chs, chss, cup, cdn, scratch)
        if res[0]:
            # Exercise region: worth its intrinsic value, delta ±1, nothing else moves it.
            out[0, i] = (s_ - k) if call else (k - s_)
            out[1, i] = 1.0 if call else -1.0
            for row in range(2, 9):
                out[row, i] = 0.0
            continue
        e, e_s, e_ss, e_sss, e_v, e_sv, e_vv, e_r = res[1:]
        carry = 0.0 if black76 else r - q
        half_var = 0.5 * v * v * s_ * s_
        intrinsic = (s_ - k) if call else (k - s_)
        out[0, i] = max(eu[0] + max(e, 0.0), intrinsic)
        out[1, i] = eu[1] + e_s
        out[2, i] = eu[2] + e_ss
        out[3, i] = eu[3] + e_v
        out[4, i] = eu[4] + r * e - carry * s_ * e_s - half_var * e_ss
        out[5, i] = eu[5] + e_r
        out[6, i] = eu[6] + e_sv
        out[7, i] = eu[7] + e_vv
        out[8, i] = (eu[8] + q * e_s - carry * s_ * e_ss - v * v * s_ * e_ss
                     - half_var * e_sss)
    return stale
