# mypy: ignore-errors
# (numba kernels: types are inferred by numba at compile time, not annotated)
"""Implied vol of American options: safeguarded Newton on the American price in σ.

Each step prices the option at the trial vol from the cached boundary panels (interpolated
in ln σ inside a vol octave, see boundary.py), so a step costs one premium quadrature and no
boundary solve. Start: the European implied vol of the American price when it exists (an
upper bound, American >= European at every vol), else 0.3. The bracket [lo, hi] tightens on
every evaluation; a Newton step that leaves it, or a zero vega (spot in the exercise region
at that vol), bisects. Stops when the step is below STEP_TOL·σ.

A trial vol with no panel in the state stops that option with reason code R_NEEDS_PANEL and
the vol it needs in `out`, so the caller can add the octave and run it again.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from app.pricing._american_kernel import (
    _INV_SQRT_2PI,
    MAX_NODES,
    PF_DIV,
    PF_LOG_VOL_HI,
    PF_LOG_VOL_LO,
    PF_LOG_X,
    PF_RATE,
    PF_T_MAX,
    PI_BLACK76,
    PI_CALL,
    PI_FIRST_SLOT,
    PI_NODES,
    PI_REGIME,
    _lagrange,
    _layout,
)
from app.pricing._boundary_kernel import REGIME_EARLY, REGIME_EUROPEAN
from app.pricing._iv_kernel import R_ABOVE, R_BELOW, R_EXPIRED, R_NO_CONVERGENCE, R_OK
from app.pricing._kernels import _at, _one
from app.pricing._special import exp_, log_, norm_tail

#: Internal reason: the state has no panel for a trial vol (out holds that vol).
R_NEEDS_PANEL = 5
SIGMA_MAX = 10.0
MIN_VOL = 1e-4
STEP_TOL = 1e-8
MAX_STEPS = 60
_EPS = 2.220446049250313e-16

_JIT = {"cache": True, "error_model": "numpy", "fastmath": {"contract"}}


@njit(inline="always", **_JIT)
def _series2(c0, c1, z):
    """Two Chebyshev series of the same degree at one point (interleaved recurrences)."""
    z2 = 2.0 * z
    a1 = a2 = b1 = b2 = 0.0
    for k in range(c0.shape[0] - 1, 0, -1):
        t = z2 * a1 - a2 + c0[k]
        a2 = a1
        a1 = t
        t = z2 * b1 - b2 + c1[k]
        b2 = b1
        b1 = t
    return z * a1 - a2 + c0[0], z * b1 - b2 + c1[0]


@njit(**_JIT)
def price_vega_premium(call, s_, k, tau, vol, r, q, log_x, t_max, ch, chs, scratch):
    """(exercise, E, dE/dσ) only, for implied vols: the same nodes as `_premium`, two series
    and two integrands per node instead of five and eight."""
    s_pts = scratch[0]
    w_pts = scratch[1]
    n_pts = _layout(call, s_, k, tau, vol, r, q, log_x, t_max, ch, s_pts, w_pts)
    if n_pts <= 0:
        return n_pts < 0, 0.0, 0.0
    sg = 1.0 if not call else -1.0
    phi = -sg
    h = scratch[2]
    hs = scratch[3]
    for i in range(n_pts):
        u = max(tau - s_pts[i], 0.0)
        h[i], hs[i] = _series2(ch, chs, 2.0 * math.sqrt(u / t_max) - 1.0)
    log_s = log_(s_)
    for i in range(n_pts):
        hi = max(h[i], 0.0)
        rh = math.sqrt(hi)
        inv = 0.5 / rh if hi > 1e-24 else 0.0
        lam = sg * (log_x - rh)
        bb = k * exp_(lam)
        b_s = -bb * sg * hs[i] * inv
        s = s_pts[i]
        a = vol * math.sqrt(s)
        inv_a = 1.0 / a
        dp = (log_s - log_(k) - lam + (r - q) * s) * inv_a + 0.5 * a
        dm = dp - a
        eq = exp_(-q * s)
        er_ = exp_(-r * s)
        em = exp_(-0.5 * dm * dm)
        ep = em * (bb * er_) / (s_ * eq)
        tp = norm_tail(abs(dp), ep)
        tm = norm_tail(abs(dm), em)
        np_ = 1.0 - tp if phi * dp > 0.0 else tp
        nm_ = 1.0 - tm if phi * dm > 0.0 else tm
        dd = er_ * _INV_SQRT_2PI * em
        mm = q * bb - r * k
        g = phi * (q * s_ * eq * np_ - r * k * er_ * nm_)
        g_v = dd * (q * bb * a - mm * dp) / vol
        g_b = -dd * mm * inv_a / bb
        scratch[4, i] = w_pts[i] * g
        scratch[5, i] = w_pts[i] * (g_v + g_b * b_s)
    e = 0.0
    e_v = 0.0
    for i in range(n_pts):
        e += scratch[4, i]
        e_v += scratch[5, i]
    return False, e, e_v


@njit(inline="always", **_JIT)
def at_vol_price(slot_log_vol, h_coef, first, p, lv, v, w0, w1, w2, ch, chs):
    """The series of H and ∂H/∂σ at ln σ = lv (what price and vega need)."""
    _lagrange(slot_log_vol, first, p, lv, w0, w1, w2)
    inv_v = 1.0 / v
    deg1 = h_coef.shape[1]
    for c in range(deg1):
        ch[c] = 0.0
        chs[c] = 0.0
    for m in range(p):
        a0 = w0[m]
        a1 = w1[m] * inv_v
        row = first + m
        for c in range(deg1):
            hc = h_coef[row, c]
            ch[c] += a0 * hc
            chs[c] += a1 * hc


@njit(inline="always", **_JIT)
def find_panel(panels_f, panels_i, call, black76, r, q, t, lv):
    """Index of a panel that prices (call, model, r, q) at ln σ = lv and maturity t, or -1."""
    for p in range(panels_i.shape[0]):
        if (panels_i[p, PI_CALL] == 1) != call or (panels_i[p, PI_BLACK76] == 1) != black76:
            continue
        if panels_f[p, PF_RATE] != r or (not black76 and panels_f[p, PF_DIV] != q):
            continue
        regime = panels_i[p, PI_REGIME]
        if regime == REGIME_EUROPEAN:
            return p
        if regime != REGIME_EARLY or t > panels_f[p, PF_T_MAX] * (1.0 + 1e-12):
            continue
        if panels_f[p, PF_LOG_VOL_LO] - 1e-12 <= lv <= panels_f[p, PF_LOG_VOL_HI] + 1e-12:
            return p
    return -1


@njit(inline="always", **_JIT)
def zero_vol_value(call, s, k, t, r, q):
    """American value in the σ → 0 limit: the best deterministic exercise time in [0, t]."""
    phi = 1.0 if call else -1.0
    best = max(phi * (s - k), phi * (s * math.exp(-q * t) - k * math.exp(-r * t)))
    if r != q and r * k > 0.0 and q * s > 0.0:
        t_star = math.log((r * k) / (q * s)) / (r - q)
        if 0.0 < t_star < t:
            best = max(best, phi * (s * math.exp(-q * t_star) - k * math.exp(-r * t_star)))
    return max(best, 0.0)


@njit(**_JIT)
def american_iv_kernel(is_call, price, spot, strike, t, rate, div, black76, start, panels_f,
                       panels_i, slot_log_vol, h_coef, hb_coef, slot_bump, out, reason):
    """Fill out[N] (vol) and reason[N] (int8: REASONS index, or R_NEEDS_PANEL with out = the
    vol needing a panel). start: float64[N] starting vols (NaN: 0.3). Inputs validated by
    the caller; spot/rate/div scalars or float64[N] as in greeks_kernel."""
    n = price.shape[0]
    deg1 = h_coef.shape[1]
    scratch = np.empty((15, MAX_NODES))
    w0 = np.empty(16)
    w1 = np.empty(16)
    w2 = np.empty(16)
    ch = np.empty(deg1)
    chs = np.empty(deg1)
    for i in range(n):
        call = is_call[i]
        s_ = _at(spot, i)
        r = _at(rate, i)
        q = r if black76 else _at(div, i)
        k = strike[i]
        ti = t[i]
        p_in = price[i]
        if ti <= 0.0:
            out[i] = np.nan
            reason[i] = R_EXPIRED
            continue
        lower = zero_vol_value(call, s_, k, ti, r, q)
        upper = s_ if call else k
        tol = 4.0 * _EPS * max(s_, k)
        if not (p_in >= lower - tol):
            out[i] = np.nan
            reason[i] = R_BELOW
            continue
        if p_in >= upper:
            out[i] = np.nan
            reason[i] = R_ABOVE
            continue
        if p_in <= lower + tol:
            out[i] = 0.0
            reason[i] = R_OK
            continue
        sig = start[i]
        if not (MIN_VOL <= sig <= SIGMA_MAX):
            sig = 0.3
        lo = 0.0
        hi = np.inf
        code = R_NO_CONVERGENCE
        for _ in range(MAX_STEPS):
            lv = math.log(sig)
            pi = find_panel(panels_f, panels_i, call, black76, r, q, ti, lv)
            if pi < 0:
                code = R_NEEDS_PANEL
                break
            eu = _one(call, s_, k, ti, sig, r, q, black76)
            value = eu[0]
            vega = eu[3]
            if panels_i[pi, PI_REGIME] == REGIME_EARLY:
                at_vol_price(slot_log_vol, h_coef, panels_i[pi, PI_FIRST_SLOT],
                             panels_i[pi, PI_NODES], lv, sig, w0, w1, w2, ch, chs)
                res = price_vega_premium(call, s_, k, ti, sig, r, q, panels_f[pi, PF_LOG_X],
                                         panels_f[pi, PF_T_MAX], ch, chs, scratch)
                if res[0]:
                    value = (s_ - k) if call else (k - s_)
                    vega = 0.0
                else:
                    value += max(res[1], 0.0)
                    vega += res[2]
            f = value - p_in
            if f > 0.0:
                hi = sig
            else:
                lo = sig
            if f == 0.0:
                code = R_OK
                break
            step = f / vega if vega > 0.0 else np.inf
            nxt = sig - step
            if not (lo < nxt < hi):
                nxt = 0.5 * (lo + hi) if hi < np.inf else 2.0 * sig
            if lo >= SIGMA_MAX:
                code = R_ABOVE
                break
            nxt = min(nxt, 2.0 * SIGMA_MAX)
            if abs(nxt - sig) <= STEP_TOL * sig or (hi < np.inf and hi - lo <= STEP_TOL * hi):
                sig = nxt
                code = R_OK
                break
            if nxt < MIN_VOL:
                if sig <= MIN_VOL:
                    # The root is below MIN_VOL (priced as σ -> 0 there): interpolate.
                    sig = MIN_VOL * max(p_in - lower, 0.0) / max(value - lower, 1e-300)
                    code = R_OK
                    break
                nxt = MIN_VOL
            sig = nxt
        if code == R_OK and sig > SIGMA_MAX:
            code = R_ABOVE
        out[i] = sig if code in (R_NEEDS_PANEL, R_OK) else np.nan
        reason[i] = code
