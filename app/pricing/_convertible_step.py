# mypy: ignore-errors
# (numba kernels: types are inferred by numba at compile time, not annotated)
"""One time step of the convertible grid with the conversion and call constraints implicit.

(I − θdt A) u_new = (I + (1 − θ)dt A) u_old on the free nodes; on the pinned nodes u_new is
the obstacle (converted: E = ratio S, C = 0; called: E = 0, C = call amount, or converted
when that pays more). The pinned set is found by policy iteration, starting from the
previous step's: pin a free node whose value breaks a constraint, free a pinned node whose
own row equation would carry it off its obstacle; usually one or two solves a step.

Why implicit: projecting on the constraints after the step makes the region where a call
forces conversion (S >= B = max(call amount / ratio, trigger level)) a discretely monitored
barrier, with an O(√dt) error. And why the barrier row: B moves with accrued interest and is
not a node, so the node just below it takes a Shortley–Weller row with B itself as its
right neighbour (value ratio × B), fully implicit (this one row only), so the barrier is
second order in S as well.

Factor bookkeeping: the LU factors (Thomas) of the step matrix are kept between steps and
redone from the first row whose pattern (pinned or not, barrier row) changed.
"""

from __future__ import annotations

from numba import njit

from app.pricing._convertible_grid import LANES, SOLVES, TIE, _constrain, _locate

_JIT = {"cache": True, "error_model": "numpy", "nogil": True}

MAX_POLICY_ITERATIONS = 8
# Columns of `mod`, the barrier row's coefficients per lane.
MOD_AL, MOD_BE, MOD_GB, MOD_UB = range(4)


@njit(**_JIT)
def barrier_row(nodes, grid_map, barrier, ratio, sig, drift, disc, mod):
    """Index of the node just below the barrier (its row is then in `mod`), or -1."""
    n = nodes.shape[0] - 1
    if barrier <= 0.0 or barrier >= nodes[n]:
        return -1
    i = _locate(barrier, nodes, grid_map)
    if i < 1 or nodes[i] >= barrier * TIE:
        return -1  # on a node (or below the first interior one): plain rows do
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
def _factor_from(al, be, ga, theta_dt, fm, finv, fup, act, i0, imod, mod, row_dt):
    """LU factors of the step matrix from row i0 on, every lane: identity rows where pinned,
    the fully implicit barrier row at imod, (I - θdt A) rows elsewhere."""
    n = al.shape[0] - 1
    for i in range(max(i0, 0), n + 1):
        for k in range(LANES):
            if act[i, k % SOLVES] != 0:
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
def _explicit(u, rhs, al, be, ga, w, imod, mod, row_dt):
    """rhs = (I + w A) u; the barrier row: u + row_dt × (its coefficient) × u(B)."""
    n = u.shape[0] - 1
    for k in range(LANES):
        rhs[0, k] = u[0, k] + w * (be[0, k] * u[0, k] + ga[0, k] * u[1, k])
    for i in range(1, n):
        for k in range(LANES):
            rhs[i, k] = u[i, k] + w * (al[i, k] * u[i - 1, k] + be[i, k] * u[i, k]
                                       + ga[i, k] * u[i + 1, k])
    for k in range(LANES):
        rhs[n, k] = u[n, k] + w * (al[n, k] * u[n - 1, k] + be[n, k] * u[n, k])
    if imod >= 0:
        for k in range(LANES):
            rhs[imod, k] = u[imod, k] + row_dt * mod[MOD_GB, k] * mod[MOD_UB, k]


@njit(**_JIT)
def _pinned(conv, call_amt, code):
    """(E, C) of a pinned node: converted (code 1), or called (code 2: holders convert when
    that pays more, else they take the call amount in cash)."""
    if code == 1 or conv >= call_amt * TIE:
        return conv, 0.0
    return 0.0, call_amt


@njit(**_JIT)
def _substitute(u, rhs, y, fm, finv, fup, act, nodes, ratio, call_amt):
    """Solve the factored system; pinned rows take their (E, C) values."""
    n = u.shape[0] - 1
    for i in range(n + 1):
        conv = ratio * nodes[i]
        for j in range(SOLVES):
            if act[i, j] != 0:
                e, c = _pinned(conv, call_amt, act[i, j])
                y[i, j] = e
                y[i, j + SOLVES] = c
            else:
                y[i, j] = rhs[i, j]
                y[i, j + SOLVES] = rhs[i, j + SOLVES]
    for i in range(1, n + 1):
        for k in range(LANES):
            y[i, k] -= fm[i, k] * y[i - 1, k]
    for k in range(LANES):
        u[n, k] = y[n, k] * finv[n, k]
    for ii in range(n):
        i = n - 1 - ii
        for k in range(LANES):
            u[i, k] = (y[i, k] - fup[i, k] * u[i + 1, k]) * finv[i, k]


@njit(**_JIT)
def _residual(u, rhs, al, be, ga, theta_dt, i, j, imod, mod, row_dt):
    """Row i of (step matrix) u − rhs, summed over the E and C lanes of solve j."""
    n = u.shape[0] - 1
    res = 0.0
    for k in (j, j + SOLVES):
        if i == imod:
            res += ((1.0 - row_dt * mod[MOD_BE, k]) * u[i, k]
                    - row_dt * mod[MOD_AL, k] * u[i - 1, k] - rhs[i, k])
            continue
        r = (1.0 - theta_dt * be[i, k]) * u[i, k] - rhs[i, k]
        if i > 0:
            r -= theta_dt * al[i, k] * u[i - 1, k]
        if i < n:
            r -= theta_dt * ga[i, k] * u[i + 1, k]
        res += r
    return res


@njit(**_JIT)
def _update_active(u, rhs, al, be, ga, theta_dt, act, nodes, ratio, call_amt, call_level,
                   imod, mod, row_dt):
    """One policy-iteration update of the pinned set; returns the first row that changed
    (n + 1 when none)."""
    n = u.shape[0] - 1
    first = n + 1
    for i in range(n + 1):
        conv = ratio * nodes[i]
        callable_here = call_amt > 0.0 and nodes[i] >= call_level * TIE
        tol = 1e-13 * (conv + call_amt + 1.0)
        for j in range(SOLVES):
            a = act[i, j]
            new = a
            if callable_here and conv >= call_amt * TIE:
                new = 2  # the call forces conversion: pinned whatever the equation says
            elif a == 0:
                v = u[i, j] + u[i, j + SOLVES]
                if v < conv - tol:
                    new = 1
                elif callable_here and v > max(call_amt, conv) + tol:
                    new = 2
            elif a == 1:
                if _residual(u, rhs, al, be, ga, theta_dt, i, j, imod, mod, row_dt) < -tol:
                    new = 0
            elif not callable_here or _residual(u, rhs, al, be, ga, theta_dt, i, j, imod,
                                                mod, row_dt) > tol:
                new = 0
            if new != a:
                act[i, j] = new
                first = min(first, i)
    return first


@njit(**_JIT)
def step(u, rhs, y, al, be, ga, explicit_dt, theta_dt, fm, finv, fup, act, meta, nodes,
         ratio, call_amt, call_level, imod, mod, bound):
    """One step (Crank–Nicolson: explicit_dt = theta_dt = dt/2; a fully implicit half step:
    explicit_dt = 0, theta_dt = dt/2); u is updated in place, bound[i] marks the nodes
    pinned in the base solve. meta: int64[3] = (rows valid in the factors from 0 up to
    meta[0] - 1 — set meta[0] = 0 to force a full refactor —, the barrier row of the
    factors, unused). Returns the policy iterations used (after MAX_POLICY_ITERATIONS the
    constraints are projected instead)."""
    n = u.shape[0] - 1
    row_dt = explicit_dt + theta_dt
    # Rows whose factors must be redone: the stale ones, the old and new barrier rows (its
    # row changes with the step size too).
    i0 = meta[0]
    if meta[1] >= 0:
        i0 = min(i0, meta[1])
    if imod >= 0:
        i0 = min(i0, imod)
    first = _force_barrier(act, nodes, ratio, call_amt, call_level)
    i0 = min(i0, first)
    _explicit(u, rhs, al, be, ga, explicit_dt, imod, mod, row_dt)
    its = 0
    while True:
        if i0 <= n:
            _factor_from(al, be, ga, theta_dt, fm, finv, fup, act, i0, imod, mod, row_dt)
        _substitute(u, rhs, y, fm, finv, fup, act, nodes, ratio, call_amt)
        its += 1
        i0 = _update_active(u, rhs, al, be, ga, theta_dt, act, nodes, ratio, call_amt,
                            call_level, imod, mod, row_dt)
        if i0 > n:
            break
        if its >= MAX_POLICY_ITERATIONS:
            _constrain(u, nodes, ratio, call_amt, call_level, 0.0, bound)
            break
    meta[0] = i0
    meta[1] = imod
    for i in range(n + 1):
        bound[i] = act[i, 0] != 0
    return its


@njit(**_JIT)
def _force_barrier(act, nodes, ratio, call_amt, call_level):
    """Pin the nodes where the call forces conversion; returns the first changed row."""
    n = nodes.shape[0] - 1
    first = n + 1
    if call_amt <= 0.0:
        return first
    for i in range(n, -1, -1):
        s = nodes[i]
        if s < call_level * TIE or ratio * s < call_amt * TIE:
            break
        for j in range(SOLVES):
            if act[i, j] != 2:
                act[i, j] = 2
                first = i
    return first
