# mypy: ignore-errors
# (numba kernels: types are inferred by numba at compile time, not annotated)
"""One time step of the convertible grid.

(I − θdt A) u_new = (I + (1 − θ)dt A) u_old, then the constraints by projection (the call's
cap where it pays cash, the put, conversion) — except where a call forces conversion: at
S >= B = max(call amount / ratio, trigger level) the nodes are pinned INSIDE the solve
(identity rows, E = ratio S, C = 0). Projecting that region after the step would make it a
discretely monitored barrier, with an O(√dt) error and — in the TF split — stock turned into
cash by the overshoot. B moves with accrued interest and is rarely a node, so the node just
below it takes a Shortley–Weller row with B itself as its right neighbour (value ratio × B,
stock), fully implicit over the step (this one row only): second order in S.

Conversion (the lower obstacle, smooth pasting), the call for cash below B and the put are
projected: first order in dt where they bind, with a small constant (a 100-bond book at the
default 25 steps a year is within 0.03 % of face of a converged grid, all errors included).

The LU factors (Thomas) of the step matrix are kept between steps; a step redoes only the
rows from the first one whose pattern (forced, barrier row) changed.
"""

from __future__ import annotations

from numba import njit

from app.pricing._convertible_grid import LANES, SOLVES, TIE, _constrain, _locate

_JIT = {"cache": True, "error_model": "numpy", "nogil": True}

# Columns of `mod`, the barrier row's coefficients per lane.
MOD_AL, MOD_BE, MOD_GB, MOD_UB = range(4)
# meta: int64[3] = (first stale row of the factors, their barrier row, their first forced row)
META_STALE, META_IMOD, META_FORCED = range(3)


@njit(**_JIT)
def forced_from(nodes, grid_map, barrier):
    """First node at or above the barrier (n + 1 when none; barrier <= 0: no call)."""
    n = nodes.shape[0] - 1
    if barrier <= 0.0 or barrier > nodes[n]:
        return n + 1
    j = _locate(barrier, nodes, grid_map)
    if nodes[j] >= barrier * TIE:
        return j
    return j + 1


@njit(**_JIT)
def barrier_row(nodes, barrier, ib, ratio, sig, drift, disc, mod):
    """Fill `mod` with the row of node ib - 1 reaching B; returns that row, or -1 when B is
    (within rounding) a node, or below the first interior node."""
    i = ib - 1
    if ib > nodes.shape[0] - 1 or i < 1 or nodes[ib] <= barrier * (2.0 - TIE):
        return -1
    s = nodes[i]
    hm = s - nodes[i - 1]
    hb = barrier - s
    v0 = sig[0] * sig[0] * s * s
    b0 = drift[0] * s
    central = (v0 - b0 * hb >= 0.0) and (v0 + b0 * hm >= 0.0)
    for k in range(LANES):
        v = sig[k] * sig[k] * s * s
        b = drift[k] * s
        dm = v / (hm * (hm + hb))
        db = v / (hb * (hm + hb))
        if central:
            cm = -b * hb / (hm * (hm + hb))
            c0 = b * (hb - hm) / (hm * hb)
            cb = b * hm / (hb * (hm + hb))
        elif drift[0] > 0.0:
            cm, c0, cb = 0.0, -b / hb, b / hb
        else:
            cm, c0, cb = -b / hm, b / hm, 0.0
        mod[MOD_AL, k] = dm + cm
        mod[MOD_BE, k] = -(dm + db) + c0 - disc[k]
        mod[MOD_GB, k] = db + cb
        mod[MOD_UB, k] = ratio * barrier if k < SOLVES else 0.0
    return i


@njit(**_JIT)
def _factor_from(al, be, ga, theta_dt, fm, finv, fup, i0, imod, ib, mod, row_dt):
    """LU factors of the step matrix from row i0 on: identity rows from ib on, the fully
    implicit barrier row at imod, (I - θdt A) rows elsewhere."""
    n = al.shape[0] - 1
    for i in range(max(i0, 0), n + 1):
        for k in range(LANES):
            if i >= ib:
                fm[i, k] = 0.0
                finv[i, k] = 1.0
                fup[i, k] = 0.0
                continue
            if i == imod:
                lower = -row_dt * mod[MOD_AL, k]
                diag = 1.0 - row_dt * mod[MOD_BE, k]
                upper = 0.0
            else:
                lower = -theta_dt * al[i, k]
                diag = 1.0 - theta_dt * be[i, k]
                upper = -theta_dt * ga[i, k]
            if i == 0:
                fm[i, k] = 0.0
                finv[i, k] = 1.0 / diag
            else:
                m = lower * finv[i - 1, k]
                fm[i, k] = m
                finv[i, k] = 1.0 / (diag - m * fup[i - 1, k])
            fup[i, k] = upper


@njit(**_JIT)
def step(u, rhs, al, be, ga, explicit_dt, theta_dt, fm, finv, fup, meta, nodes, ratio,
         call_amt, call_level, ib, imod, mod, bound, margin):
    """One step (Crank–Nicolson: explicit_dt = theta_dt = dt/2; a fully implicit half step:
    explicit_dt = 0, theta_dt = dt/2), u updated in place. ib: first node where the call
    forces conversion (n + 1: none); imod: the barrier row (-1: none, its coefficients in
    mod). meta: the factors' state (set meta[META_STALE] = 0 to force a full refactor).
    bound[i] marks the nodes where a constraint binds in the base solve; margin: scratch
    float64[N+1, >= SOLVES]."""
    n = u.shape[0] - 1
    row_dt = explicit_dt + theta_dt
    top = min(ib, n + 1)  # rows below are solved, rows from it on are pinned
    # Stale rows: those marked, the old and new barrier rows (its row changes with the step
    # size too), and the rows whose forced status changed.
    i0 = meta[META_STALE]
    if meta[META_IMOD] >= 0:
        i0 = min(i0, meta[META_IMOD])
    if imod >= 0:
        i0 = min(i0, imod)
    if meta[META_FORCED] != ib:
        i0 = min(i0, min(meta[META_FORCED], ib) - 1)
    if i0 <= n:
        _factor_from(al, be, ga, theta_dt, fm, finv, fup, i0, imod, ib, mod, row_dt)
    meta[META_STALE] = n + 1
    meta[META_IMOD] = imod
    meta[META_FORCED] = ib
    w = explicit_dt
    # The explicit half into rhs, fused with the forward sweep (rows below `top` only; the
    # barrier row's right-hand side is its own).
    for k in range(LANES):
        rhs[0, k] = u[0, k] + w * (be[0, k] * u[0, k] + ga[0, k] * u[1, k])
    last_free = min(top, n + 1) - 1
    for i in range(1, min(top, n)):
        if i == imod:
            for k in range(LANES):
                r = u[i, k] + row_dt * mod[MOD_GB, k] * mod[MOD_UB, k]
                rhs[i, k] = r - fm[i, k] * rhs[i - 1, k]
            continue
        for k in range(LANES):
            r = u[i, k] + w * (al[i, k] * u[i - 1, k] + be[i, k] * u[i, k]
                               + ga[i, k] * u[i + 1, k])
            rhs[i, k] = r - fm[i, k] * rhs[i - 1, k]
    if last_free == n:
        for k in range(LANES):
            r = u[n, k] + w * (al[n, k] * u[n - 1, k] + be[n, k] * u[n, k])
            rhs[n, k] = r - fm[n, k] * rhs[n - 1, k]
    for i in range(top, n + 1):
        conv = ratio * nodes[i]
        for k in range(SOLVES):
            u[i, k] = conv
            u[i, k + SOLVES] = 0.0
    for k in range(LANES):
        nxt = u[top, k] if top <= n else 0.0
        u[last_free, k] = (rhs[last_free, k] - fup[last_free, k] * nxt) * finv[last_free, k]
    for ii in range(1, last_free + 1):
        i = last_free - ii
        for k in range(LANES):
            u[i, k] = (rhs[i, k] - fup[i, k] * u[i + 1, k]) * finv[i, k]
    for i in range(n + 1):
        bound[i] = i >= top
    _constrain(u, nodes, ratio, call_amt, call_level, 0.0, bound, margin)
