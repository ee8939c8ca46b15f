# mypy: ignore-errors
# (numba kernels: types are inferred by numba at compile time, not annotated)
"""A second, independent discretization of the Tsiveriotis–Fernandes equations: a trinomial
lattice in ln S, to cross-check the finite-difference grid in tests.

Same model and conventions as _convertible_grid.py (E discounted at r, C at r + s, the same
constraint order, coupons added after the constraints, clean call/put prices plus accrued,
cash dividends as a jump V(S) <- V(max(S − D, 0)) interpolated linearly across the level's
nodes), nothing shared with the grid: a recombining Kamrad–Ritchken trinomial tree, ln S
step dx = λσ√dt (λ >= 1), p_u,d = 1/(2λ²) ± ν√dt/(2λσ), p_m = 1 − 1/λ², ν = r − q − σ²/2;
each event time snapped to the nearest level; the maturity payoff averaged over the node's
cell (as a smoothing start). The tree starts one level before the valuation time so that
level 0 has three nodes: price at the middle one, delta and gamma from the three.

Why the barrier alignment: where a call forces conversion (S >= B, B = the first call
period's max(price / ratio, trigger level)), a tree whose nodes straddle B overshoots it: the
node just below B sees an up-successor worth ratio × S_up > call amount and is "called for
cash" — a layer that is an artifact of discrete monitoring, and that in the TF split turns
stock into cash (we measured 909 instead of 930 on a 5-year zero-coupon bond at 250 bp).
So dx is chosen to put B exactly on a node (Ritchken 1995). That fixes a constant B only:
with coupons a hard call's B = (price + accrued) / ratio moves between nodes, and the lattice
then carries that artifact; cross-check such bonds with soft calls (a fixed trigger B).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import njit

from app.pricing._convertible_grid import TIE
from app.pricing.convertible_batch import pack
from app.pricing.convertible_terms import ConvertibleTerms

__all__ = ["lattice_figures"]

_JIT = {"cache": True, "error_model": "numpy", "nogil": True}


@njit(**_JIT)
def _accrued(t, cpn, acc0, cpn_t):
    prev = acc0
    for c in cpn_t:
        if c > t + 1e-12:
            return cpn * (t - prev) / (c - prev)
        prev = c
    return 0.0


@njit(**_JIT)
def _lattice(spot, vol, rate, q, spread, T, redemption, ratio, cpn, acc0, cpn_t, call_from,
             call_to, call_px, call_level, put_t, put_px, div_t, div_amt, steps, dx):
    dt = T / steps
    lam = dx / (vol * math.sqrt(dt))
    nu = rate - q - 0.5 * vol * vol
    pu = 0.5 / (lam * lam) + nu * math.sqrt(dt) / (2.0 * lam * vol)
    pd = 0.5 / (lam * lam) - nu * math.sqrt(dt) / (2.0 * lam * vol)
    pm = 1.0 - 1.0 / (lam * lam)
    de = math.exp(-rate * dt)
    dc = math.exp(-(rate + spread) * dt)
    # Times snapped to tree levels (level n is at time n dt).
    cpn_lv = np.empty(cpn_t.shape[0], dtype=np.int64)
    snapped = np.empty(cpn_t.shape[0])
    for i in range(cpn_t.shape[0]):
        cpn_lv[i] = round(cpn_t[i] / dt)
        snapped[i] = cpn_lv[i] * dt
    has_cpn_at_T = cpn_t.shape[0] > 0 and cpn_lv[cpn_t.shape[0] - 1] == steps
    size = 2 * steps + 3
    e = np.empty(size)
    c = np.empty(size)
    s = np.empty(size)
    tmp = np.empty(size)
    cash_t = redemption + (cpn if has_cpn_at_T else 0.0)
    half = math.exp(0.5 * dx)
    for lvl in range(steps, -1, -1):
        nn = 2 * lvl + 3  # nodes at this level (the tree starts at level -1)
        for j in range(nn):
            s[j] = spot * math.exp((j - (lvl + 1)) * dx)
        t = lvl * dt
        if lvl == steps:
            kink = cash_t / ratio
            for j in range(nn):
                lo = s[j] / half
                hi = s[j] * half
                if lo < kink < hi:  # average the payoff over the cell holding its kink
                    e[j] = ratio * 0.5 * (hi * hi - kink * kink) / (hi - lo)
                    c[j] = cash_t * (kink - lo) / (hi - lo)
                elif ratio * s[j] > cash_t:
                    e[j], c[j] = ratio * s[j], 0.0
                else:
                    e[j], c[j] = 0.0, cash_t
            acc = cpn if has_cpn_at_T else 0.0
        else:
            for j in range(nn):
                e[j] = de * (pu * e[j + 2] + pm * e[j + 1] + pd * e[j])
                c[j] = dc * (pu * c[j + 2] + pm * c[j + 1] + pd * c[j])
            on_coupon = False
            for i in range(cpn_lv.shape[0]):
                if cpn_lv[i] == lvl:
                    on_coupon = True
            acc = 0.0 if on_coupon else _accrued(t, cpn, acc0, snapped)
        call_amt, trig = 0.0, 0.0
        for k in range(call_from.shape[0]):
            if round(call_from[k] / dt) <= lvl <= round(call_to[k] / dt):
                call_amt, trig = call_px[k] + acc, call_level[k]
        put_amt = 0.0
        for k in range(put_t.shape[0]):
            if round(put_t[k] / dt) == lvl and lvl > 0:
                put_amt = put_px[k] + acc
        _constrain(e, c, s, nn, ratio, call_amt, trig, put_amt)
        amount = 0.0
        for k in range(div_t.shape[0]):
            if round(div_t[k] / dt) == lvl and 0 < lvl < steps:
                amount += div_amt[k]
        if amount > 0.0:
            _jump(e, s, nn, amount, tmp)
            _jump(c, s, nn, amount, tmp)
            _constrain(e, c, s, nn, ratio, call_amt, trig, put_amt)
        if lvl < steps:
            for i in range(cpn_lv.shape[0]):
                if cpn_lv[i] == lvl and lvl > 0:
                    for j in range(nn):
                        c[j] += cpn
    v0, v1, v2 = e[0] + c[0], e[1] + c[1], e[2] + c[2]
    delta = (v2 - v0) / (s[2] - s[0])
    gamma = ((v2 - v1) / (s[2] - s[1]) - (v1 - v0) / (s[1] - s[0])) / (0.5 * (s[2] - s[0]))
    return v1, delta, gamma


def space_step(spot: float, vol: float, dt: float, barrier: float) -> float:
    """ln S step: λσ√dt with λ ≈ 1.22, or, given a call barrier, the step that puts it
    exactly on a node with λ in [1.2, 2.4] (when it is at least 1.2σ√dt from the spot)."""
    base = vol * math.sqrt(dt)
    if barrier > 0.0:
        d = abs(math.log(barrier / spot))
        k = math.floor(d / (1.2 * base))
        if k >= 1:
            return d / k
    return math.sqrt(1.5) * base


@njit(**_JIT)
def _constrain(e, c, s, nn, ratio, call_amt, trig, put_amt):
    for j in range(nn):
        conv = ratio * s[j]
        if call_amt > 0.0 and s[j] >= trig * TIE and e[j] + c[j] > max(call_amt, conv):
            if conv >= call_amt * TIE:
                e[j], c[j] = conv, 0.0
            else:
                e[j], c[j] = 0.0, call_amt
        if put_amt > 0.0 and e[j] + c[j] < put_amt:
            e[j], c[j] = 0.0, put_amt
        if e[j] + c[j] < conv:
            e[j], c[j] = conv, 0.0


@njit(**_JIT)
def _jump(x, s, nn, amount, tmp):
    """x(S) <- x(max(S - amount, 0)) by linear interpolation across the level's nodes."""
    k = 0
    for j in range(nn):
        target = max(s[j] - amount, 0.0)
        while k < nn - 2 and s[k + 1] <= target:
            k += 1
        if target <= s[0]:
            tmp[j] = x[0]
        else:
            w = (target - s[k]) / (s[k + 1] - s[k])
            tmp[j] = (1.0 - w) * x[k] + w * x[k + 1]
    for j in range(nn):
        x[j] = tmp[j]


def lattice_figures(terms: ConvertibleTerms, spot: float, vol: float, rate: float,
                    div_yield: float = 0.0, *, credit_spread: float | None = None,
                    dividends: Sequence[Sequence[float]] = (),
                    steps: int = 2000) -> dict[str, float]:
    """{price, delta, gamma} of one bond on a trinomial tree of `steps` levels."""
    if terms.maturity <= 0.0:
        raise ValueError("maturity must be positive for the lattice")
    b = pack(terms)
    spread = terms.credit_spread if credit_spread is None else float(credit_spread)
    divs = np.array([d for d in dividends if 0.0 < d[0] < terms.maturity],
                    dtype=np.float64).reshape(-1, 2)
    args: list[Any] = [float(spot), float(vol), float(rate), float(div_yield), spread,
                       terms.maturity, float(b.redemption[0]), terms.conversion_ratio,
                       float(b.coupon[0]), float(b.accrual_start[0]), b.coupon_times,
                       b.call_from, b.call_to, b.call_price, b.call_level, b.put_times,
                       b.put_price, np.ascontiguousarray(divs[:, 0]),
                       np.ascontiguousarray(divs[:, 1])]
    barrier = 0.0
    if len(b.call_from):
        barrier = max(float(b.call_price[0]) / terms.conversion_ratio, float(b.call_level[0]))
    dx = space_step(float(spot), float(vol), terms.maturity / steps, barrier)
    res = _lattice(*args, steps, dx)
    return {"price": res[0], "delta": res[1], "gamma": res[2]}
