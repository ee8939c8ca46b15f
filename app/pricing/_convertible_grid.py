# mypy: ignore-errors
# (numba kernels: types are inferred by numba at compile time, not annotated)
"""Tsiveriotis–Fernandes convertible bonds on a finite-difference grid in the stock price.

The model (Tsiveriotis & Fernandes 1998): the value V(S, t) = E + C, where C is the part
paid in cash (coupons, redemption, put and call amounts), discounted at r + s (s = the
issuer's credit spread), and E the part paid in stock (conversion), discounted at r. With
L = ½σ²S² ∂² + (r − q) S ∂, in the continuation region
    E_t + L E − r E = 0,        C_t + L C − (r + s) C = 0,
and at every time the constraints, applied in this order (accrued interest `acc`):
    call (inside a call period, S >= trigger level), V > max(P_call + acc, ratio S):
        ratio S >= P_call + acc → E = ratio S, C = 0 (holders convert); else E = 0, C = P + acc
    put (on a put date), V < P_put + acc:   E = 0, C = P_put + acc
    conversion, V < ratio S:                E = ratio S, C = 0.
At maturity E = ratio S, C = 0 where ratio S > redemption + last coupon, else E = 0,
C = redemption + last coupon. A coupon date adds the coupon to C after the constraints
(the holder may convert or be called right after collecting it). A cash dividend D at t_ex:
the stock drops by D, V(S, t_ex−) = V(max(S − D, 0), t_ex+), linear interpolation on the grid,
then the constraints again (holders may convert cum dividend).

Discretization:
- Space: N + 1 nodes from S = 0 to S_max on a sinh-stretched grid concentrated around the spot
  of the solve (which is a node); S_max = S_ref · max(3, exp(5 σ √T)), S_ref the largest of
  the spot, redemption / ratio and call prices / ratio. Central differences, upwinded where
  central ones would give a negative weight (so the scheme stays monotone near S = 0). At
  S = 0 the PDE is the ODE V_t = r E + (r + s) C (the bond with no equity); at S_max the
  linear condition V_SS = 0 with a one-sided first derivative.
- Time: Crank–Nicolson, every event (coupon, put, call period start and end, dividend) on a
  time level, equal steps between events (≈ steps_per_year, at least min_steps overall);
  Rannacher start-up (two fully implicit half steps) after maturity and after every event
  but a coupon outside a call period. The maturity payoff is averaged over the cell holding
  its kink, so the error is smooth in the grid size (Richardson extrapolation works).
- Constraints (_convertible_step.py): where a call forces conversion (S >= B = max(call
  amount / ratio, trigger level)) the nodes are pinned inside the implicit solve, with a
  Shortley–Weller row at B; conversion, the call for cash below B and the put are projected
  after the step, each node's E/C split following the share of its cell where the constraint
  binds (`_project`), so the solution is smooth in vol, rate and spread.
- A tie — ratio × S equal to the call amount — converts: at B the holder takes stock.
- Lanes: 4 solves run in lock-step on the same grids, each with an E and a C system (8
  lanes): the base, vol + H_VOL, rate + H_RATE, spread + H_SPREAD; vega, rho and the spread
  sensitivity are their differences at every node.
- Theta: the centred difference of V over the last step before the valuation time and one
  more step past it (market and call status held), S fixed.
"""

from __future__ import annotations

import math

from numba import njit

LANES = 8  # (E, C) × (base, vol bump, rate bump, spread bump): E lanes 0-3, C lanes 4-7
SOLVES = 4
H_VOL = 1e-4
H_RATE = 1e-5
H_SPREAD = 1e-5
TIME_EPS = 1e-10
#: A tie (ratio × S = call amount, S = trigger level) within this relative margin converts:
#: rounding must not decide between stock and cash.
TIE = 1.0 - 1e-12

# Rows of the per-node figure table.
ROW_PRICE, ROW_DELTA, ROW_GAMMA, ROW_VEGA, ROW_THETA, ROW_RHO, ROW_SPREAD = range(7)
TABLE_ROWS = 7
# Columns of the per-bond map: the sinh grid S(ξ) = kc + alpha sinh(c2 + (c1 - c2) ξ).
MAP_KC, MAP_ALPHA, MAP_C2, MAP_C1 = range(4)

_JIT = {"cache": True, "error_model": "numpy", "nogil": True}


@njit(**_JIT)
def cell_of(s, grid_map, n_space):
    """Index j of the cell [S_j, S_{j+1}] holding s (clamped to 0 .. n_space - 1)."""
    kc = grid_map[MAP_KC]
    alpha = grid_map[MAP_ALPHA]
    c2 = grid_map[MAP_C2]
    xi = (math.asinh((s - kc) / alpha) - c2) / (grid_map[MAP_C1] - c2)
    j = math.floor(xi * n_space)
    return min(max(j, 0), n_space - 1)


@njit(**_JIT)
def _locate(s, nodes, grid_map):
    n_space = nodes.shape[0] - 1
    j = cell_of(s, grid_map, n_space)
    # The closed-form inverse can be one cell off through rounding.
    while j > 0 and s < nodes[j]:
        j -= 1
    while j < n_space - 1 and s >= nodes[j + 1]:
        j += 1
    return j


@njit(**_JIT)
def build_grid(spot, s_max_target, conc, n_space, nodes, grid_map):
    """Sinh grid on [0, ≈s_max_target] with `spot` exactly on a node; fills nodes, grid_map."""
    kc = spot
    alpha = conc * spot
    c2 = -math.asinh(kc / alpha)
    c1 = math.asinh((s_max_target - kc) / alpha)
    j = round(-c2 / (c1 - c2) * n_space)
    j = min(max(j, 1), n_space - 1)
    c1 = c2 * (1.0 - n_space / j)
    for i in range(n_space + 1):
        nodes[i] = kc + alpha * math.sinh(c2 + (c1 - c2) * i / n_space)
    nodes[0] = 0.0
    nodes[j] = kc
    grid_map[MAP_KC] = kc
    grid_map[MAP_ALPHA] = alpha
    grid_map[MAP_C2] = c2
    grid_map[MAP_C1] = c1


@njit(**_JIT)
def _operator(nodes, sig, drift, disc, al, be, ga):
    """Rows (al, be, ga) of L - disc per lane: (A u)_i = al u_{i-1} + be u_i + ga u_{i+1}."""
    n = nodes.shape[0] - 1
    for k in range(LANES):
        al[0, k] = 0.0
        be[0, k] = -disc[k]
        ga[0, k] = 0.0
    for i in range(1, n):
        s = nodes[i]
        hm = nodes[i] - nodes[i - 1]
        hp = nodes[i + 1] - nodes[i]
        # Central or upwind convection, decided once on the base lane for all lanes (the
        # bumped solves must use the same scheme for their differences to be derivatives).
        v0 = sig[0] * sig[0] * s * s
        b0 = drift[0] * s
        central = (v0 - b0 * hp >= 0.0) and (v0 + b0 * hm >= 0.0)
        for k in range(LANES):
            v = sig[k] * sig[k] * s * s
            b = drift[k] * s
            dm = v / (hm * (hm + hp))
            dp = v / (hp * (hm + hp))
            if central:
                cm = -b * hp / (hm * (hm + hp))
                c0 = b * (hp - hm) / (hm * hp)
                cp = b * hm / (hp * (hm + hp))
            elif drift[0] > 0.0:
                cm = 0.0
                c0 = -b / hp
                cp = b / hp
            else:
                cm = -b / hm
                c0 = b / hm
                cp = 0.0
            al[i, k] = dm + cm
            be[i, k] = -(dm + dp) + c0 - disc[k]
            ga[i, k] = dp + cp
    h = nodes[n] - nodes[n - 1]
    for k in range(LANES):
        b = drift[k] * nodes[n] / h
        al[n, k] = -b
        be[n, k] = b - disc[k]
        ga[n, k] = 0.0


@njit(**_JIT)
def accrued_at(t, cpn, acc0, cpn_t, at_maturity):
    """Accrued interest at time t (0 on a coupon date, once paid; the full coupon at maturity
    when a coupon is due then and at_maturity is set)."""
    prev = acc0
    for c in cpn_t:
        if abs(c - t) <= TIME_EPS:
            return cpn if at_maturity else 0.0
        if c > t:
            return cpn * (t - prev) / (c - prev)
        prev = c
    return 0.0


_CALL, _PUT, _CONVERSION = range(3)
_FREE = 1e300  # margin of a node where a constraint does not apply


@njit(inline="always", **_JIT)
def _negative_length(da, db, length):
    """Length of the part of a segment where a linear function from da to db is < 0."""
    if da >= 0.0 and db >= 0.0:
        return 0.0
    if da < 0.0 and db < 0.0:
        return length
    if da < 0.0:
        return length * (-da) / (db - da)
    return length * (-db) / (da - db)


@njit(inline="always", **_JIT)
def _margins(u, nodes, kind, ratio, amount, level, margin, i):
    """margin[i, j] for every solve j (< 0 where the constraint binds); True if all > 0."""
    s = nodes[i]
    conv = ratio * s
    clear = True
    for j in range(SOLVES):
        v = u[i, j] + u[i, j + SOLVES]
        if kind == _CALL:
            d = max(amount, conv) - v if s >= level * TIE else _FREE
        elif kind == _PUT:
            d = v - amount
        else:
            d = v - conv
        margin[i, j] = d
        clear &= d > 0.0
    return clear


@njit(**_JIT)
def _project(u, nodes, kind, ratio, amount, level, margin, bound):
    """One constraint, every solve: the value takes the exact projection at each node; the
    split of a node between its target (E*, C*) and its free (E, C) follows the share of its
    cell where the constraint binds (the margin interpolated linearly between nodes), so the
    stock/cash split moves continuously as the boundary crosses a cell - without it the
    solution is a staircase in vol, rate and spread, and bumped sensitivities are noise.

    Conversion and the call bind on an upper range of S (the value rises no faster than
    ratio × S, so V − ratio S falls and V − call rises with S): their margins are computed
    from the top down, stopping below two clear nodes. The put is checked everywhere."""
    n = nodes.shape[0] - 1
    lo = 0
    if kind == _PUT:
        for i in range(n + 1):
            _margins(u, nodes, kind, ratio, amount, level, margin, i)
    else:
        clear_run = 0
        lo = -1
        for i in range(n, -1, -1):
            if _margins(u, nodes, kind, ratio, amount, level, margin, i):
                clear_run += 1
                if clear_run == 2:
                    lo = i + 1  # i and i + 1 are clear: below them nothing binds
                    break
            else:
                clear_run = 0
        if lo < 0:
            lo = 0
    for i in range(lo, n + 1):
        s = nodes[i]
        cell_lo = 0.5 * (nodes[i - 1] + s) if i > 0 else s
        cell_hi = 0.5 * (s + nodes[i + 1]) if i < n else s
        conv = ratio * s
        for j in range(SOLVES):
            di = margin[i, j]
            dl = 0.5 * (margin[i - 1, j] + di) if i > 0 else di
            dr = 0.5 * (di + margin[i + 1, j]) if i < n else di
            if di >= 0.0 and dl >= 0.0 and dr >= 0.0:
                continue
            if cell_hi > cell_lo:
                phi = (_negative_length(dl, di, s - cell_lo)
                       + _negative_length(di, dr, cell_hi - s)) / (cell_hi - cell_lo)
            else:
                phi = 1.0 if di < 0.0 else 0.0
            e = u[i, j]
            v = e + u[i, j + SOLVES]
            if kind == _CALL:
                target = conv if conv >= amount * TIE else 0.0
                v = min(v, max(amount, conv))
            elif kind == _PUT:
                target = 0.0
                v = max(v, amount)
            else:
                target = conv
                v = max(v, conv)
            e = (1.0 - phi) * e + phi * target
            u[i, j] = e
            u[i, j + SOLVES] = v - e
            if di < 0.0 and j == 0:
                bound[i] = True


@njit(**_JIT)
def _constrain(u, nodes, ratio, call_amt, call_level, put_amt, bound, margin):
    """The call (call_amt > 0, at S >= call_level), the put (put_amt > 0) and conversion, in
    that order, by projection; marks in `bound` the nodes where one binds (base solve).
    margin: float64[N+1, >= SOLVES] scratch."""
    if call_amt > 0.0:
        _project(u, nodes, _CALL, ratio, call_amt, call_level, margin, bound)
    if put_amt > 0.0:
        _project(u, nodes, _PUT, ratio, put_amt, 0.0, margin, bound)
    _project(u, nodes, _CONVERSION, ratio, 0.0, 0.0, margin, bound)


@njit(**_JIT)
def _dividend_jump(u, nodes, grid_map, amount, tmp):
    """u(S) <- u(max(S - amount, 0)), linear interpolation on the grid, all lanes."""
    n = nodes.shape[0] - 1
    for i in range(n + 1):
        x = max(nodes[i] - amount, 0.0)
        j = _locate(x, nodes, grid_map)
        w = (x - nodes[j]) / (nodes[j + 1] - nodes[j])
        for k in range(LANES):
            tmp[i, k] = (1.0 - w) * u[j, k] + w * u[j + 1, k]
    for i in range(n + 1):
        for k in range(LANES):
            u[i, k] = tmp[i, k]
