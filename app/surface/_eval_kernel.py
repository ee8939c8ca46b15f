# mypy: ignore-errors
# (numba kernels: types are inferred by numba at compile time, not annotated)
"""Numba kernels: the surface at (k, t) for N options, and their vega bucket weights.

The surface is E raw SVI node slices (params float64[E, 5], times T float64[E] increasing)
and one rule in time, at fixed log-moneyness k (see app.surface.surface for why):
    t ≤ T_0            w(k, t) = (t / T_0) w_0(k)                 (the first smile's vols)
    T_i ≤ t ≤ T_i+1    w(k, t) = α w_i(k) + (1 − α) w_i+1(k),     α = (T_i+1 − t)/(T_i+1 − T_i)
    t ≥ T_E−1          w(k, t) = w_E−1(k) + (t − T_E−1) θ_E−1 / T_E−1,  θ = w(0): ATM vol held
t ≤ 0 is read at t = T_0 (the limit of the first rule: the first smile's vols).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_JIT = {"cache": True, "error_model": "numpy", "nogil": True}


@njit(inline="always", cache=True, error_model="numpy")
def _svi(p, i, k):
    """(w, dw/dk, d²w/dk²) of node slice i at k."""
    a = p[i, 0]
    b = p[i, 1]
    rho = p[i, 2]
    x = k - p[i, 3]
    s2 = p[i, 4] * p[i, 4]
    root = math.sqrt(x * x + s2)
    return a + b * (rho * x + root), b * (rho + x / root), b * s2 / (root * root * root)


@njit(inline="always", cache=True, error_model="numpy")
def _locate(times, t):
    """(i, α): t sits between nodes i and i+1 with weight α on i; i = -1 before the first
    node, i = E-1 after the last (α = 1 there)."""
    e = times.shape[0]
    if t <= times[0]:
        return -1, 1.0
    if t >= times[e - 1]:
        return e - 1, 1.0
    i = 0
    while times[i + 1] <= t:
        i += 1
    return i, (times[i + 1] - t) / (times[i + 1] - times[i])


@njit(inline="always", cache=True, error_model="numpy")
def _variance(p, times, atm_rate, k, t):
    """(w, w_k, w_kk, t_eff) of the surface at (k, t)."""
    e = times.shape[0]
    if t <= 0.0:
        t = times[0]
    i, alpha = _locate(times, t)
    if i < 0:
        w, wk, wkk = _svi(p, 0, k)
        lam = t / times[0]
        return lam * w, lam * wk, lam * wkk, t
    w, wk, wkk = _svi(p, i, k)
    if i == e - 1:
        return w + (t - times[e - 1]) * atm_rate, wk, wkk, t
    w1, wk1, wkk1 = _svi(p, i + 1, k)
    beta = 1.0 - alpha
    return alpha * w + beta * w1, alpha * wk + beta * wk1, alpha * wkk + beta * wkk1, t


@njit(**_JIT)
def variance_kernel(p, times, atm_rate, k, t, out):
    """out float64[3, N] <- total variance w, dw/dk, d²w/dk² at (k[n], t[n])."""
    for n in range(k.shape[0]):
        w, wk, wkk, _ = _variance(p, times, atm_rate, k[n], t[n])
        out[0, n] = w
        out[1, n] = wk
        out[2, n] = wkk


@njit(**_JIT)
def vol_kernel(p, times, atm_rate, k, t, out):
    """out float64[3, N] <- implied vol σ = √(w/t), dσ/dk, d²σ/dk² at (k[n], t[n]).

    σ_k = w_k / (2σt), σ_kk = w_kk / (2σt) − w_k² / (4σ³t²); where w = 0 (a smile touching
    zero variance) σ = 0 and its k-derivatives are set to 0.
    """
    for n in range(k.shape[0]):
        w, wk, wkk, te = _variance(p, times, atm_rate, k[n], t[n])
        if w <= 0.0:
            out[0, n] = 0.0
            out[1, n] = 0.0
            out[2, n] = 0.0
            continue
        s = math.sqrt(w / te)
        inv = 1.0 / (2.0 * s * te)
        out[0, n] = s
        out[1, n] = wk * inv
        out[2, n] = wkk * inv - wk * wk * inv * inv / s


@njit(**_JIT)
def bucket_kernel(p, times, atm_rate, k, t, lower, lower_w, upper, upper_w):
    """Per option the two node smiles its vol is read from and dσ/dε for a parallel bump
    σ_i(k) → σ_i(k) + ε of each (i.e. δw_i = 2 T_i σ_i(k) ε, carried through the time rule).

    lower, upper int64[N] (equal before the first and after the last node, upper_w = 0 then);
    lower_w, upper_w float64[N]. For a flat surface the two weights add up to 1.
    """
    e = times.shape[0]
    for n in range(k.shape[0]):
        tn = t[n] if t[n] > 0.0 else times[0]
        i, alpha = _locate(times, tn)
        w, _, _, te = _variance(p, times, atm_rate, k[n], tn)
        if i < 0:
            lower[n] = 0
            upper[n] = 0
            lower_w[n] = 1.0
            upper_w[n] = 0.0
            continue
        denom = math.sqrt(w * te) if w > 0.0 else 0.0
        wi = _svi(p, i, k[n])[0]
        si_ti = math.sqrt(max(wi, 0.0) * times[i])  # T_i σ_i(k)
        lower[n] = i
        if i == e - 1:
            # the extension's ATM rate θ/T moves with the last smile too: δθ = 2 T σ(0) ε
            w0 = _svi(p, i, 0.0)[0]
            atm = math.sqrt(max(w0, 0.0) / times[i])
            upper[n] = i
            lower_w[n] = (si_ti + (te - times[i]) * atm) / denom if denom > 0.0 else 1.0
            upper_w[n] = 0.0
            continue
        if alpha == 1.0:  # on node i
            upper[n] = i
            lower_w[n] = 1.0
            upper_w[n] = 0.0
            continue
        wj = _svi(p, i + 1, k[n])[0]
        sj_tj = math.sqrt(max(wj, 0.0) * times[i + 1])
        upper[n] = i + 1
        if denom > 0.0:
            lower_w[n] = alpha * si_ti / denom
            upper_w[n] = (1.0 - alpha) * sj_tj / denom
        else:
            lower_w[n] = alpha
            upper_w[n] = 1.0 - alpha


def warm_up() -> None:
    """Compile (or load from cache) the three kernels."""
    p = np.array([[0.01, 0.1, -0.3, 0.0, 0.2], [0.02, 0.1, -0.3, 0.0, 0.2]])
    times = np.array([0.25, 0.5])
    k = np.array([-0.1, 0.0, 0.1])
    t = np.array([0.1, 0.3, 0.9])
    out = np.empty((3, 3))
    variance_kernel(p, times, 0.05, k, t, out)
    vol_kernel(p, times, 0.05, k, t, out)
    idx = np.empty(3, dtype=np.int64)
    bucket_kernel(p, times, 0.05, k, t, idx, out[0], idx.copy(), out[1])
