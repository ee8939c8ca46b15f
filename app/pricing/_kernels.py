# mypy: ignore-errors
# (numba kernels: types are inferred by numba at compile time, not annotated)
"""Fused numba kernel: all nine Greeks of BSM / Black-76 options in one pass over memory.

One formula for both models, in cost-of-carry form (Haug): the underlying `s` drifts at
`b` under the pricing measure and the option pays at discount `e^{-rt}`:
    BSM       b = r - q   (s = spot)
    Black-76  b = 0       (s = futures price; rho is dV/dr with the future held fixed)
With F = s e^{bt}, Dr = e^{-rt}, Dq = e^{(b-r)t}, sv = σ√t, φ = +1 call / -1 put:
    d1 = ln(F/K)/sv + sv/2, d2 = d1 - sv, n1 = n(d1)
    price = φ (s Dq N(φd1) - K Dr N(φd2))          delta = φ Dq N(φd1)
    gamma = Dq n1 / (s sv)                           vega  = s Dq n1 √t
    theta = -s Dq n1 σ/(2√t) - φ(b-r) s Dq N(φd1) - φ r K Dr N(φd2)
    rho   = φ K t Dr N(φd2) (BSM)  |  -t price (Black-76)
    vanna = -Dq n1 d2/σ            volga = vega d1 d2/σ
    charm = -φ(b-r) Dq N(φd1) - Dq n1 (2bt - d2 sv)/(2 t sv)
theta and charm are d/d(calendar time) = -d/dt (per year). The main loop is branch-free
(edge cases are computed on clamped inputs and overwritten by a scalar fix-up loop) so LLVM
vectorizes it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

from app.pricing._special import exp_, log_, norm_tail

_INV_SQRT_2PI = 0.3989422804014327

#: Below this σ√t the option is priced at its zero-vol limit (see greeks.py docstring).
SV_FLOOR = 1e-12

# Codes returned by the kernel's fused validation: index of the first bad argument + 1.
BAD_NONE, BAD_SPOT, BAD_STRIKE, BAD_T, BAD_VOL, BAD_RATE, BAD_DIV = range(7)


def _at(x, i):  # pragma: no cover - replaced by the overload in compiled code
    """x[i] for an array, x for a scalar (resolved at compile time, no branch)."""
    return x[i] if np.ndim(x) else x


@overload(_at, inline="always")
def _at_overload(x, i):
    if isinstance(x, types.Array):
        return lambda x, i: x[i]
    return lambda x, i: x


_JIT = {"cache": True, "error_model": "numpy", "fastmath": {"contract"}, "nogil": True}


@njit(inline="always", **{k: v for k, v in _JIT.items() if k != "nogil"})
def _one(call, s, k, t, vol, r, q, black76):
    """All nine figures for one option (clamped inputs: t > 0, σ√t >= SV_FLOOR)."""
    b = 0.0 if black76 else r - q
    phi = 1.0 if call else -1.0
    sqt = math.sqrt(t)
    sv = max(vol * sqt, SV_FLOOR)
    dr = exp_(-r * t)
    dq = dr if black76 else exp_(-q * t)
    x = log_(s / k) + b * t
    d1 = x / sv + 0.5 * sv
    d2 = d1 - sv
    e1 = exp_(-0.5 * d1 * d1)
    e2 = exp_(-0.5 * d2 * d2)
    n1 = _INV_SQRT_2PI * e1
    # N(φd) from the small tail N(-|d|): no cancellation in either tail.
    t1 = norm_tail(abs(d1), e1)
    t2 = norm_tail(abs(d2), e2)
    nd1 = 1.0 - t1 if phi * d1 > 0.0 else t1
    nd2 = 1.0 - t2 if phi * d2 > 0.0 else t2
    sdq = s * dq
    kdr = k * dr
    price = phi * (sdq * nd1 - kdr * nd2)
    delta = phi * dq * nd1
    gamma = dq * n1 / (s * sv)
    vega = sdq * n1 * sqt
    theta = -sdq * n1 * vol / (2.0 * sqt) - phi * (b - r) * sdq * nd1 - phi * r * kdr * nd2
    rho = -t * price if black76 else phi * k * t * dr * nd2
    vanna = -dq * n1 * d2 * sqt / sv
    volga = vega * d1 * d2 * sqt / sv
    charm = -phi * (b - r) * dq * nd1 - dq * n1 * (2.0 * b * t - d2 * sv) / (2.0 * t * sv)
    return price, delta, gamma, vega, theta, rho, vanna, volga, charm


@njit(inline="always", cache=True, error_model="numpy")
def _edge(call, s, k, t, vol, r, q, black76, out, i):
    """Overwrite column i of `out` when t <= 0 (expired) or σ√t < SV_FLOOR (zero vol)."""
    if t <= 0.0:
        # Expired: intrinsic value; delta is the exercise indicator (0 at the money).
        intrinsic = s - k if call else k - s
        itm = intrinsic > 0.0
        out[0, i] = intrinsic if itm else 0.0
        out[1, i] = (1.0 if call else -1.0) if itm else 0.0
        for row in range(2, 9):
            out[row, i] = 0.0
        return
    if vol * math.sqrt(t) >= SV_FLOOR:
        return
    # σ → 0 limit: deterministic forward; the option is worth its discounted intrinsic.
    b = 0.0 if black76 else r - q
    phi = 1.0 if call else -1.0
    dr = math.exp(-r * t)
    dq = dr if black76 else math.exp(-q * t)
    sdq = s * dq
    kdr = k * dr
    itm = 1.0 if phi * (sdq - kdr) > 0.0 else 0.0
    price = itm * phi * (sdq - kdr)
    out[0, i] = price
    out[1, i] = itm * phi * dq
    out[2, i] = 0.0
    out[3, i] = 0.0
    out[4, i] = itm * (-phi * (b - r) * sdq - phi * r * kdr)
    out[5, i] = -t * price if black76 else itm * phi * k * t * dr
    out[6, i] = 0.0
    out[7, i] = 0.0
    out[8, i] = itm * (-phi * (b - r) * dq)


@njit(inline="always", **_JIT)
def greeks_kernel(is_call, spot, strike, t, vol, rate, div, black76, validate, out):
    """Fill out[(9, N)] for N options; spot/rate/div are scalars or length-N arrays.

    is_call: bool[N]; strike, t, vol: float64[N]. With `validate`, also returns the BAD_*
    code of the first argument holding NaN/inf or an out-of-domain value (0 when all good);
    the figures are then meaningless.
    """
    n = strike.shape[0]
    p_price, p_delta, p_gamma, p_vega = out[0], out[1], out[2], out[3]
    p_theta, p_rho, p_vanna, p_volga, p_charm = out[4], out[5], out[6], out[7], out[8]
    special = False
    finite = True
    for i in range(n):
        s = _at(spot, i)
        r = _at(rate, i)
        q = _at(div, i)
        k = strike[i]
        ti = t[i]
        vi = vol[i]
        # One fused range check per element (NaN fails every comparison); which argument
        # was bad is looked up afterwards, only when something was.
        finite &= (s > 0.0) & (s < np.inf) & (k > 0.0) & (k < np.inf) & (vi >= 0.0)
        finite &= (vi < np.inf) & (abs(ti) < np.inf) & (abs(r) < np.inf) & (abs(q) < np.inf)
        special |= (ti <= 0.0) | (vi * math.sqrt(max(ti, 0.0)) < SV_FLOOR)
        res = _one(is_call[i], s, k, max(ti, 1e-300), vi, r, q, black76)
        p_price[i] = res[0]
        p_delta[i] = res[1]
        p_gamma[i] = res[2]
        p_vega[i] = res[3]
        p_theta[i] = res[4]
        p_rho[i] = res[5]
        p_vanna[i] = res[6]
        p_volga[i] = res[7]
        p_charm[i] = res[8]
    if special:
        for i in range(n):
            _edge(is_call[i], _at(spot, i), strike[i], t[i], vol[i], _at(rate, i), _at(div, i),
                  black76, out, i)
    if validate and not finite:
        return _first_bad(spot, strike, t, vol, rate, div, black76)
    return BAD_NONE


@njit(inline="always", cache=True, error_model="numpy")
def _first_bad(spot, strike, t, vol, rate, div, black76):
    # `x > 0` is False for NaN, so one comparison per argument covers NaN and the sign.
    for i in range(strike.shape[0]):
        v = _at(spot, i)
        if not (0.0 < v < np.inf):
            return BAD_SPOT
    for v in strike:
        if not (0.0 < v < np.inf):
            return BAD_STRIKE
    for v in t:
        if not (-np.inf < v < np.inf):
            return BAD_T
    for v in vol:
        if not (0.0 <= v < np.inf):
            return BAD_VOL
    for i in range(strike.shape[0]):
        if not (-np.inf < _at(rate, i) < np.inf):
            return BAD_RATE
    for i in range(strike.shape[0]):
        if not (-np.inf < _at(div, i) < np.inf):
            return BAD_DIV
    return BAD_NONE
