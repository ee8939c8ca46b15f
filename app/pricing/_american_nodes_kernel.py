# mypy: ignore-errors
# (numba kernels: types are inferred by numba at compile time, not annotated)
"""Prepared quadrature nodes: the boundary evaluated once per option, reused across ticks.

`american_kernel` evaluates, per option and tick, the boundary (five Chebyshev series) at
~22 quadrature nodes and then the integrand there. The nodes depend on the option's time to
expiry and vol, and on spot only through where the first-half integration starts. This
kernel fixes, per option, nodes in u (time to expiry of the boundary point) for a spot band
and stores the boundary there (ln B, B, ∂B/∂σ, ∂²B/∂σ², ∂B/∂r): a tick then costs the
European closed form and the integrand at the stored nodes, with s = t_now - u.

Validity (per option, checked on every tick; outside it the figures are NaN, "stale"):
- spot band. Continuation region: the first-half integration starts where the integrand is
  negligible for a spot half as far from the boundary (in ln S/B) as at preparation, so spot
  may move away from the boundary freely and halfway towards it; past the boundary as
  prepared (`exercise_at`), it is exercised: intrinsic. Exercise region: spot on
  the exercise side of B(t) (the put boundary only rises towards expiry, the call boundary
  falls, so time keeps it there). Nowhere near the boundary (no premium): as long as that
  test still holds.
- elapsed time: the nodes slide by the elapsed time in s; they stay accurate while that is
  below MAX_SHIFT of the first node's s (no limit without premium nodes).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from app.pricing._american_kernel import (
    _PIECE_W,
    _PIECE_X,
    _TAIL_W,
    _TAIL_X,
    CUTOFF,
    MAX_PIECES,
    MIN_LOG_DISTANCE,
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
    PIECE_LOG,
    PIECE_NODES,
    TAIL_NODES,
    _at_vol,
    _boundary_at,
    _node,
    _series5,
)
from app.pricing._boundary_kernel import REGIME_EARLY, REGIME_EUROPEAN, clenshaw
from app.pricing._kernels import _at, _one
from app.pricing._special import exp_, log_

ST_STALE, ST_EUROPEAN, ST_EXERCISED, ST_PREMIUM = range(4)
#: The nodes may slide by this fraction of the smallest s before the option is stale. The
#: integrand is negligible below the first node's s (by construction, for spot at half the
#: distance to the boundary), so a slide of a fraction of it moves nothing the rule needs:
#: measured against the full evaluation, the price error stays at the layout's own (a few
#: 1e-9 × K) up to a slide of the whole first s; a quarter keeps a margin.
MAX_SHIFT = 0.25
#: Spot may come this much closer to the boundary (in ln S/B) than at preparation.
APPROACH = 0.5

#: Each option's nodes are padded to a multiple of this with weight-0 copies of its last
#: node: the tick's node loop runs in SIMD vectors of 8 doubles (AVX-512; 4 with AVX2) and a
#: count that is not a multiple leaves a remainder to the scalar loop, which costs about as
#: much as the vectors (22 nodes: 2 vectors and 6 scalar nodes; padded to 24: 3 vectors).
LANES = 8

_JIT = {"cache": True, "error_model": "numpy", "fastmath": {"contract"}}


@njit(inline="always", **_JIT)
def _z_lo(dist, vol, beta):
    ls = max(dist, MIN_LOG_DISTANCE) / vol
    return 2.0 * ls / (CUTOFF + math.sqrt(CUTOFF * CUTOFF + 4.0 * beta * ls))


@njit(**_JIT)
def prepare_kernel(is_call, spot, strike, t, vol, rate, div, black76, panels_f, panels_i,
                   slot_log_vol, h_coef, hb_coef, slot_bump, panel, status, band_lo, band_hi,
                   exercise_at, max_elapsed, counts, fill, offsets, nodes):
    """Two passes. fill=False: status, bands, exercise_at, max_elapsed and counts[N] (nodes
    per option).
    fill=True (offsets[N+1] from the counts, nodes[7, total]): the nodes (u, w, ln B, B,
    ∂B/∂σ, ∂²B/∂σ², ∂B/∂r) of every option with premium."""
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
    for i in range(n_opt):
        call = is_call[i]
        s_ = _at(spot, i)
        r = _at(rate, i)
        q = r if black76 else _at(div, i)
        k = strike[i]
        tau = t[i]
        v = vol[i]
        pi = panel[i]
        counts[i] = 0
        exercise_at[i] = np.nan
        ok = 0 <= pi < panels_i.shape[0] and tau > 0.0
        if ok:
            ok = ((panels_i[pi, PI_CALL] == 1) == call) and ((panels_i[pi, PI_BLACK76] == 1)
                                                             == black76)
            ok = ok and panels_f[pi, PF_RATE] == r and (black76 or panels_f[pi, PF_DIV] == q)
        regime = panels_i[pi, PI_REGIME] if ok else -1
        if ok and regime == REGIME_EARLY:
            lv = math.log(v) if v > 0.0 else -np.inf
            ok = (tau <= panels_f[pi, PF_T_MAX] * (1.0 + 1e-12)
                  and panels_f[pi, PF_LOG_VOL_LO] - 1e-12 <= lv
                  <= panels_f[pi, PF_LOG_VOL_HI] + 1e-12)
        if not ok or (regime != REGIME_EARLY and regime != REGIME_EUROPEAN):
            status[i] = ST_STALE
            band_lo[i] = np.inf
            band_hi[i] = -np.inf
            max_elapsed[i] = -1.0
            continue
        max_elapsed[i] = np.inf
        band_lo[i] = 0.0
        band_hi[i] = np.inf
        if regime == REGIME_EUROPEAN:
            status[i] = ST_EUROPEAN
            continue
        bump = _at_vol(slot_log_vol, h_coef, hb_coef, slot_bump, panels_i[pi, PI_FIRST_SLOT],
                       panels_i[pi, PI_NODES], math.log(v), v, w0, w1, w2, ch, chs, chss, cup,
                       cdn)
        t_max = panels_f[pi, PF_T_MAX]
        log_x = panels_f[pi, PF_LOG_X]
        sg = 1.0 if not call else -1.0
        phi = -sg
        lam_tau = sg * (log_x - math.sqrt(max(clenshaw(ch, 2.0 * math.sqrt(
            min(tau / t_max, 1.0)) - 1.0), 0.0)))
        b_tau = k * math.exp(lam_tau)
        lsk = log_(s_ / k)
        dist = phi * (lam_tau - lsk)
        if dist <= 0.0:
            status[i] = ST_EXERCISED
            if call:
                band_lo[i] = b_tau
            else:
                band_hi[i] = b_tau
            continue
        beta = abs(r - q) / v + 0.5 * v
        far = phi * (sg * log_x - lsk)
        lf_min = 0.0
        if far > 0.0:
            # The "no premium" test holds for every ln distance to K X above lf_min.
            z = math.sqrt(tau)
            lf_min = v * (CUTOFF * z + beta * z * z)
            if far >= lf_min:
                status[i] = ST_EUROPEAN
                edge = k * math.exp(sg * log_x) * math.exp(-phi * lf_min)
                if call:
                    band_hi[i] = edge
                else:
                    band_lo[i] = edge
                continue
        status[i] = ST_PREMIUM
        exercise_at[i] = b_tau
        # Integrate from where the integrand is negligible for spot at half the distance.
        d_prep = APPROACH * dist
        edge = b_tau * math.exp(-phi * d_prep)
        if call:
            band_hi[i] = edge
        else:
            band_lo[i] = edge
        half = math.sqrt(0.5 * tau)
        z_lo = _z_lo(d_prep, v, beta)
        pieces = 0
        step = 0.0
        base = 0.0
        if z_lo < half:
            span = math.log(half / z_lo)
            pieces = min(math.ceil(span / PIECE_LOG), MAX_PIECES)
            step = span / pieces
            base = 2.0 * math.log(z_lo)
        s_first = min(z_lo * z_lo, 0.5 * tau)
        max_elapsed[i] = MAX_SHIFT * s_first
        real = pieces * PIECE_NODES + TAIL_NODES
        counts[i] = (real + LANES - 1) // LANES * LANES
        if not fill:
            continue
        j = offsets[i]
        for pc in range(pieces):
            for m in range(PIECE_NODES):
                s = exp_(base + (2 * pc + 1.0 + _PIECE_X[m]) * step)
                nodes[0, j] = tau - s
                nodes[1, j] = _PIECE_W[m] * step * s
                j += 1
        for m in range(TAIL_NODES):
            vv = 0.5 * half * (_TAIL_X[m] + 1.0)
            nodes[0, j] = vv * vv
            nodes[1, j] = _TAIL_W[m] * half * vv
            j += 1
        while j < offsets[i + 1]:  # padding: the last node again, weight 0
            nodes[0, j] = nodes[0, j - 1]
            nodes[1, j] = 0.0
            j += 1
        for j in range(offsets[i], offsets[i + 1]):
            u = max(nodes[0, j], 0.0)
            h, hs, hss, hu, hd = _series5(ch, chs, chss, cup, cdn,
                                          2.0 * math.sqrt(u / t_max) - 1.0)
            nb = _boundary_at(h, hs, hss, hu, hd, sg, log_x, bump, k)
            for row in range(5):
                nodes[2 + row, j] = nb[row]


@njit(cache=True, error_model="numpy", fastmath={"contract", "reassoc"})
def _row_sums(scratch, count, acc):
    """acc[row] = sum of scratch[row, :count], in SIMD partial sums (reassociated: the order
    of a sum of ~24 terms moves its last bits only)."""
    for row in range(8):
        total = 0.0
        for m in range(count):
            total += scratch[row, m]
        acc[row] = total


@njit(**_JIT)
def nodes_kernel(is_call, spot, strike, t, vol, rate, div, black76, status, band_lo,
                 band_hi, exercise_at, max_elapsed, starts, ends, nodes, elapsed, out):
    """Nine figures per option at spot (float or float64[N]), `elapsed` years after the
    preparation at times to expiry t[N]; NaN where stale. Option i's nodes are the columns
    starts[i]:ends[i] of nodes. Returns the number stale."""
    stale = 0
    acc = np.empty(8)
    scratch = np.empty((8, MAX_PIECES * PIECE_NODES + TAIL_NODES))
    for i in range(strike.shape[0]):
        call = is_call[i]
        s_ = _at(spot, i)
        r = _at(rate, i)
        q = r if black76 else _at(div, i)
        k = strike[i]
        v = vol[i]
        tau = t[i] - elapsed
        st = status[i]
        in_band = band_lo[i] <= s_ <= band_hi[i]
        if (st == ST_PREMIUM and not in_band and elapsed >= 0.0
                and (s_ >= exercise_at[i] if call else s_ <= exercise_at[i])):
            st = ST_EXERCISED  # past the boundary as prepared, so past today's too
        elif st == ST_STALE or not in_band or not (0.0 <= elapsed <= max_elapsed[i]):
            stale += 1
            for row in range(9):
                out[row, i] = np.nan
            continue
        intrinsic = (s_ - k) if call else (k - s_)
        if tau <= 0.0:
            itm = intrinsic > 0.0
            out[0, i] = intrinsic if itm else 0.0
            out[1, i] = (1.0 if call else -1.0) if itm else 0.0
            for row in range(2, 9):
                out[row, i] = 0.0
            continue
        if st == ST_EXERCISED:
            out[0, i] = intrinsic
            out[1, i] = 1.0 if call else -1.0
            for row in range(2, 9):
                out[row, i] = 0.0
            continue
        eu = _one(call, s_, k, tau, v, r, q, black76)
        for row in range(9):
            out[row, i] = eu[row]
        if st != ST_PREMIUM:
            continue
        phi = 1.0 if call else -1.0
        b76 = 1.0 if black76 else 0.0
        log_s = log_(s_)
        first = starts[i]
        count = ends[i] - first
        # The integrand at every stored node (a branch-free loop: vectorizes), then the sums.
        for m in range(count):
            j = first + m
            c = _node(tau - nodes[0, j], nodes[1, j], nodes[2, j], nodes[3, j], nodes[4, j],
                      nodes[5, j], nodes[6, j], s_, log_s, k, v, r, q, b76, phi)
            scratch[0, m] = c[0]
            scratch[1, m] = c[1]
            scratch[2, m] = c[2]
            scratch[3, m] = c[3]
            scratch[4, m] = c[4]
            scratch[5, m] = c[5]
            scratch[6, m] = c[6]
            scratch[7, m] = c[7]
        _row_sums(scratch, count, acc)
        e, e_s, e_ss, e_sss, e_v, e_sv, e_vv, e_r = acc[0], acc[1], acc[2], acc[3], acc[4], \
            acc[5], acc[6], acc[7]
        carry = 0.0 if black76 else r - q
        half_var = 0.5 * v * v * s_ * s_
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


@njit(**_JIT)
def splice_rows(rows, shift, t, vol, rate, div, status, band_lo, band_hi, exercise_at,
                max_elapsed, f_t, f_vol, f_rate, f_div, f_status, f_band_lo, f_band_hi,
                f_exercise_at, f_max_elapsed):
    """Copies of the per-option arrays with rows[m] taken from the fresh arrays' m-th
    option; t and max_elapsed of the fresh options shifted by `shift` (one call, not one
    numpy call per array: the splice of a few rows costs microseconds)."""
    t, vol, rate, div = t.copy(), vol.copy(), rate.copy(), div.copy()
    status, band_lo, band_hi = status.copy(), band_lo.copy(), band_hi.copy()
    exercise_at, max_elapsed = exercise_at.copy(), max_elapsed.copy()
    for m in range(rows.shape[0]):
        i = rows[m]
        t[i] = f_t[m] + shift
        vol[i] = f_vol[m]
        rate[i] = f_rate[m]
        div[i] = f_div[m]
        status[i] = f_status[m]
        band_lo[i] = f_band_lo[m]
        band_hi[i] = f_band_hi[m]
        exercise_at[i] = f_exercise_at[m]
        max_elapsed[i] = f_max_elapsed[m] + shift
    return t, vol, rate, div, status, band_lo, band_hi, exercise_at, max_elapsed
