# mypy: ignore-errors
# (numba kernels: types are inferred by numba at compile time, not annotated)
"""The backward solve of a batch of convertibles (model and scheme: _convertible_grid.py).

`solve_batch` loops over the bonds of one batch (one underlying) in compiled code. Per bond:
the time levels (every event, equal steps between), the terminal payoff, the backward
Crank–Nicolson march with Rannacher restarts and the constraint projections, then the
per-node figure table at the valuation time. Schedules come flattened with offsets
(CSR-style): the k-th bond's coupons are cpn_t[cpn_off[k]:cpn_off[k + 1]], and so on.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from app.pricing._convertible_grid import (
    H_RATE,
    H_SPREAD,
    H_VOL,
    LANES,
    ROW_DELTA,
    ROW_GAMMA,
    ROW_PRICE,
    ROW_RHO,
    ROW_SPREAD,
    ROW_THETA,
    ROW_VEGA,
    SOLVES,
    TIE,
    TIME_EPS,
    _constrain,
    _dividend_jump,
    _operator,
    accrued_at,
    build_grid,
)
from app.pricing._convertible_step import (
    META_FORCED,
    META_IMOD,
    META_STALE,
    barrier_row,
    forced_from,
    step,
)

_JIT = {"cache": True, "error_model": "numpy", "nogil": True}

# Kinds of time levels (bit flags).
_EV_COUPON, _EV_PUT, _EV_CALL_EDGE, _EV_DIVIDEND = 1, 2, 4, 8


@njit(**_JIT)
def _levels(T, cpn_t, put_t, call_from, call_to, div_t):
    """Sorted unique times 0 = t_0 < ... < t_M = T of the events inside (0, T]."""
    cand = np.empty(2 + cpn_t.shape[0] + put_t.shape[0] + 2 * call_from.shape[0]
                    + div_t.shape[0])
    m = 0
    cand[m] = 0.0
    m += 1
    cand[m] = T
    m += 1
    for arr in (cpn_t, put_t, call_from, call_to, div_t):
        for x in arr:
            if TIME_EPS < x < T - TIME_EPS:
                cand[m] = x
                m += 1
    cand = np.sort(cand[:m])
    out = np.empty(m)
    k = 0
    for x in cand:
        if k == 0 or x - out[k - 1] > TIME_EPS:
            out[k] = x
            k += 1
    out[k - 1] = T
    return out[:k]


@njit(**_JIT)
def _call_at(t, call_from, call_to, call_px, call_level):
    """(price, trigger level) of the call period holding t, or (0, 0) outside every period."""
    for c in range(call_from.shape[0]):
        if call_from[c] - TIME_EPS <= t <= call_to[c] + TIME_EPS:
            return call_px[c], call_level[c]
    return 0.0, 0.0


@njit(**_JIT)
def _put_at(t, put_t, put_px):
    for p in range(put_t.shape[0]):
        if abs(put_t[p] - t) <= TIME_EPS:
            return put_px[p]
    return 0.0


@njit(**_JIT)
def _terminal(u, nodes, ratio, cash):
    """Maturity payoff per lane: max(cash, ratio S) split into E and C, averaged over the
    cell holding the kink S* = cash / ratio (so the error is smooth in the grid size)."""
    n = nodes.shape[0] - 1
    kink = cash / ratio
    for i in range(n + 1):
        lo = 0.5 * (nodes[i - 1] + nodes[i]) if i > 0 else nodes[0]
        hi = 0.5 * (nodes[i] + nodes[i + 1]) if i < n else nodes[n]
        if lo < kink < hi:
            e = ratio * 0.5 * (hi * hi - kink * kink) / (hi - lo)
            c = cash * (kink - lo) / (hi - lo)
        elif ratio * nodes[i] > cash:
            e = ratio * nodes[i]
            c = 0.0
        else:
            e = 0.0
            c = cash
        for k in range(SOLVES):
            u[i, k] = e
            u[i, k + SOLVES] = c


@njit(**_JIT)
def _table(u, nodes, theta, ratio, barrier, table):
    """Figures per node at the valuation time from the lanes (see the grid module); theta
    is given (per node, per year).

    barrier > 0: the call forces conversion at S >= barrier (V = ratio S there); the node
    just below it takes its derivatives from the quadratic through its left neighbour,
    itself and (barrier, ratio × barrier), not across the kink."""
    n = nodes.shape[0] - 1
    for i in range(n + 1):
        v = u[i, 0] + u[i, SOLVES]
        table[ROW_PRICE, i] = v
        table[ROW_VEGA, i] = (u[i, 1] + u[i, SOLVES + 1] - v) / H_VOL
        table[ROW_RHO, i] = (u[i, 2] + u[i, SOLVES + 2] - v) / H_RATE
        table[ROW_SPREAD, i] = (u[i, 3] + u[i, SOLVES + 3] - v) / H_SPREAD
        table[ROW_THETA, i] = theta[i]
    price = table[ROW_PRICE]
    for i in range(1, n):
        x0, x1, x2 = nodes[i - 1], nodes[i], nodes[i + 1]
        v2 = price[i + 1]
        if barrier > 0.0 and x1 < barrier < x2:
            x2 = barrier
            v2 = ratio * barrier
        elif barrier > 0.0 and x1 >= barrier * TIE:
            table[ROW_DELTA, i] = ratio
            table[ROW_GAMMA, i] = 0.0
            continue
        hm = x1 - x0
        hp = x2 - x1
        table[ROW_DELTA, i] = (-hp / (hm * (hm + hp)) * price[i - 1]
                               + (hp - hm) / (hm * hp) * price[i]
                               + hm / (hp * (hm + hp)) * v2)
        table[ROW_GAMMA, i] = 2.0 * (price[i - 1] / (hm * (hm + hp)) - price[i] / (hm * hp)
                                     + v2 / (hp * (hm + hp)))
    table[ROW_DELTA, 0] = (price[1] - price[0]) / (nodes[1] - nodes[0])
    table[ROW_GAMMA, 0] = table[ROW_GAMMA, 1]
    table[ROW_DELTA, n] = (price[n] - price[n - 1]) / (nodes[n] - nodes[n - 1])
    table[ROW_GAMMA, n] = 0.0


@njit(**_JIT)
def solve_bond(spot, vol, rate, q, spread, T, redemption, ratio, cpn, acc0, cpn_t,
               call_from, call_to, call_px, call_level, put_t, put_px, div_t, div_amt,
               n_space, steps_per_year, min_steps, conc, s_ref_extra,
               nodes, grid_map, table, work, vec, fac, bound):
    """Solve one bond; fills nodes, grid_map, table. Returns (bond floor, accrued now,
    time of the next event, the forced-conversion barrier now or 0).
    work: float64[4, N+1, LANES]; vec: float64[2, N+1]; fac: float64[6, N+1, LANES]."""
    u, rhs, tmp, ahead = work[0], work[1], work[2], work[3]
    v_before, theta = vec[0], vec[1]
    bound_ahead = np.empty(bound.shape[0], dtype=np.bool_)
    al, be, ga, fm, finv, fup = fac[0], fac[1], fac[2], fac[3], fac[4], fac[5]
    cash_t = redemption
    has_cpn_at_T = cpn_t.shape[0] > 0 and abs(cpn_t[cpn_t.shape[0] - 1] - T) <= TIME_EPS
    if has_cpn_at_T and T > TIME_EPS:
        cash_t += cpn
    s_ref = max(spot, max(cash_t, s_ref_extra) / ratio)
    matured = T <= TIME_EPS
    spread_sd = 5.0 * vol * math.sqrt(max(T, 0.0))
    build_grid(spot, s_ref * max(3.0, math.exp(min(spread_sd, 8.0))), conc, n_space, nodes,
               grid_map)
    sig = np.empty(LANES)
    drift = np.empty(LANES)
    disc = np.empty(LANES)
    for k in range(SOLVES):
        sk = vol + (H_VOL if k == 1 else 0.0)
        rk = rate + (H_RATE if k == 2 else 0.0)
        spk = spread + (H_SPREAD if k == 3 else 0.0)
        sig[k] = sk
        sig[k + SOLVES] = sk
        drift[k] = rk - q
        drift[k + SOLVES] = rk - q
        disc[k] = rk
        disc[k + SOLVES] = rk + spk
    _operator(nodes, sig, drift, disc, al, be, ga)
    n = n_space
    if matured:
        for i in range(n + 1):
            conv = ratio * nodes[i]
            for k in range(SOLVES):
                u[i, k] = conv if conv > redemption else 0.0
                u[i, k + SOLVES] = 0.0 if conv > redemption else redemption
            bound[i] = True
        theta[:] = 0.0
        _table(u, nodes, theta, ratio, 0.0, table)
        for i in range(n + 1):
            table[ROW_VEGA, i] = 0.0
            table[ROW_RHO, i] = 0.0
            table[ROW_SPREAD, i] = 0.0
        return redemption, 0.0, np.inf, 0.0

    levels = _levels(T, cpn_t, put_t, call_from, call_to, div_t)
    m = levels.shape[0] - 1
    n_total = max(min_steps, math.ceil(steps_per_year * T))
    dt_target = T / n_total

    # Maturity.
    _terminal(u, nodes, ratio, cash_t)
    acc = cpn if has_cpn_at_T else 0.0
    floor = cash_t
    pc, lvl = _call_at(T, call_from, call_to, call_px, call_level)
    pp = _put_at(T, put_t, put_px)
    bound[:] = False
    _constrain(u, nodes, ratio, pc + acc if pc > 0.0 else 0.0, lvl,
               pp + acc if pp > 0.0 else 0.0, bound, tmp)
    if pp > 0.0:
        floor = max(floor, pp + acc)
    restart = True
    mod = np.empty((4, LANES))
    meta = np.empty(3, dtype=np.int64)
    meta[META_IMOD] = -1
    meta[META_FORCED] = n + 1
    for lev in range(m - 1, -1, -1):
        t_hi = levels[lev + 1]
        t_lo = levels[lev]
        steps = max(1, round((t_hi - t_lo) / dt_target))
        dt = (t_hi - t_lo) / steps
        floor *= math.exp(-(rate + spread) * (t_hi - t_lo))
        # Crank–Nicolson over dt and a fully implicit half step share I - dt/2 A.
        tdt = 0.5 * dt
        meta[META_STALE] = 0  # new step size: refactor every row
        for j in range(steps):
            halves = 2 if restart and j < 2 else 1
            for h in range(halves):
                if j == steps - 1 and h == halves - 1:
                    t = t_lo  # land exactly on the level
                else:
                    t = t_hi - (j + (h + 1.0) / halves) * dt
                call_amt, lvl = _call_amount(t, cpn, acc0, cpn_t, call_from, call_to,
                                             call_px, call_level)
                ib = n + 1
                imod = -1
                if call_amt > 0.0:
                    b_now = max(call_amt / ratio, lvl)
                    ib = forced_from(nodes, grid_map, b_now)
                    imod = barrier_row(nodes, b_now, ib, ratio, sig, drift, disc, mod)
                explicit = 0.0 if halves == 2 else tdt
                last = lev == 0 and j == steps - 1 and h == halves - 1
                if last:  # keep V one step before the valuation time, for theta
                    h_last = explicit + tdt
                    for i in range(n + 1):
                        v_before[i] = u[i, 0] + u[i, SOLVES]
                step(u, rhs, al, be, ga, explicit, tdt, fm, finv, fup, meta, nodes, ratio,
                     call_amt, lvl, ib, imod, mod, bound, tmp)
                if last:
                    # One more step past the valuation time (to -h_last, the market and the
                    # call status held) gives theta as a centred difference in time.
                    for i in range(n + 1):
                        for k in range(LANES):
                            ahead[i, k] = u[i, k]
                    step(ahead, rhs, al, be, ga, explicit, tdt, fm, finv, fup, meta, nodes,
                         ratio, call_amt, lvl, ib, imod, mod, bound_ahead, tmp)
                    for i in range(n + 1):
                        theta[i] = (v_before[i] - ahead[i, 0] - ahead[i, SOLVES]) / (
                            2.0 * h_last)
        # The event level t_lo.
        acc = accrued_at(t_lo, cpn, acc0, cpn_t, False)
        pc, lvl = _call_at(t_lo, call_from, call_to, call_px, call_level)
        pp = _put_at(t_lo, put_t, put_px) if lev > 0 else 0.0
        call_amt = pc + acc if pc > 0.0 else 0.0
        put_amt = pp + acc if pp > 0.0 else 0.0
        _constrain(u, nodes, ratio, call_amt, lvl, put_amt, bound, tmp)
        kinds = 0
        if pp > 0.0:
            floor = max(floor, put_amt)
            kinds |= _EV_PUT
        if lev > 0:
            amount = 0.0
            for d in range(div_t.shape[0]):
                if abs(div_t[d] - t_lo) <= TIME_EPS:
                    amount += div_amt[d]
            if amount > 0.0:
                _dividend_jump(u, nodes, grid_map, amount, tmp)
                _constrain(u, nodes, ratio, call_amt, lvl, put_amt, bound, tmp)
                kinds |= _EV_DIVIDEND
            for c in range(call_from.shape[0]):
                if abs(call_from[c] - t_lo) <= TIME_EPS or abs(call_to[c] - t_lo) <= TIME_EPS:
                    kinds |= _EV_CALL_EDGE
            for c in range(cpn_t.shape[0]):
                if abs(cpn_t[c] - t_lo) <= TIME_EPS:
                    for i in range(n + 1):
                        for k in range(SOLVES, LANES):
                            u[i, k] += cpn
                    floor += cpn
                    kinds |= _EV_COUPON
        # Rannacher again after anything that kinks the solution; after a coupon only inside a
        # call period (the coupon shifts the call barrier: without the restart the error is
        # first order in time there).
        restart = (kinds & ~_EV_COUPON) != 0 or ((kinds & _EV_COUPON) != 0 and pc > 0.0)
    call_now, lvl_now = _call_amount(0.0, cpn, acc0, cpn_t, call_from, call_to, call_px,
                                     call_level)
    barrier = max(call_now / ratio, lvl_now) if call_now > 0.0 else 0.0
    _table(u, nodes, theta, ratio, barrier, table)
    acc_now = accrued_at(0.0, cpn, acc0, cpn_t, False)
    next_event = levels[1] if m >= 1 else T
    return floor, acc_now, next_event, barrier


@njit(**_JIT)
def _call_amount(t, cpn, acc0, cpn_t, call_from, call_to, call_px, call_level):
    """(call price + accrued, trigger level) at time t, or (0, 0) when not callable."""
    pc, lvl = _call_at(t, call_from, call_to, call_px, call_level)
    if pc > 0.0:
        return pc + accrued_at(t, cpn, acc0, cpn_t, False), lvl
    return 0.0, 0.0


@njit(**_JIT)
def solve_batch(spot, vol, rate, q, spread, T, redemption, ratio, cpn, acc0,
                cpn_t, cpn_off, call_from, call_to, call_px, call_level, call_off,
                put_t, put_px, put_off, div_t, div_amt,
                n_space, steps_per_year, min_steps, conc,
                nodes, maps, table, floor, accrued, next_event, barrier):
    """Solve every bond of the batch; per-bond inputs are float64[n] (spot..acc0), outputs
    nodes[n, N+1], maps[n, 4], table[n, 7, N+1], floor/accrued/next_event/barrier[n]
    (barrier: where a call forces conversion now, 0 for none)."""
    n_bonds = spot.shape[0]
    npts = n_space + 1
    work = np.empty((4, npts, LANES))
    vec = np.empty((2, npts))
    fac = np.empty((6, npts, LANES))
    bound = np.zeros(npts, dtype=np.bool_)
    for b in range(n_bonds):
        c0, c1 = cpn_off[b], cpn_off[b + 1]
        k0, k1 = call_off[b], call_off[b + 1]
        p0, p1 = put_off[b], put_off[b + 1]
        s_extra = 0.0
        for c in range(k0, k1):
            s_extra = max(s_extra, call_px[c])
        res = solve_bond(spot[b], vol[b], rate[b], q[b], spread[b], T[b], redemption[b],
                         ratio[b], cpn[b], acc0[b], cpn_t[c0:c1], call_from[k0:k1],
                         call_to[k0:k1], call_px[k0:k1], call_level[k0:k1], put_t[p0:p1],
                         put_px[p0:p1], div_t, div_amt, n_space, steps_per_year, min_steps,
                         conc, s_extra, nodes[b], maps[b], table[b], work, vec, fac,
                         bound)
        floor[b] = res[0]
        accrued[b] = res[1]
        next_event[b] = res[2]
        barrier[b] = res[3]
