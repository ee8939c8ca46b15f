# mypy: ignore-errors
# (numba kernels: types are inferred by numba at compile time, not annotated)
"""Finite differences for options with discrete cash dividends (spot model), American or not.

The Black–Scholes PDE in x = ln S and τ = time to expiry,
    V_τ = σ²/2 V_xx + (r - q - σ²/2) V_x - r V,
on a uniform x-grid, Crank–Nicolson in τ with Rannacher start-up (the first step, and the
step after each dividend, taken as four implicit-Euler quarter steps, which damps the
payoff's and the jump's kinks), the time steps aligned on the ex-dividend times. At an ex
time the stock drops by the cash amount D: V(S, t_ex-) = V(S - D, t_ex+), by cubic
interpolation at ln(S - D) (S - D below the grid: the grid's last value, i.e. the option on
a stock worth ~0). American exercise by projection, V = max(V, payoff), after every step and
right after each dividend jump, so a call is exercised just before an ex time when the
dividend is worth more than the time value (the jump happens after that projection). The
edges are far away (SPREAD standard deviations, plus the dividends) with zero gamma there
(V linear in S: the last two interior values extrapolated).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_JIT = {"cache": True, "error_model": "numpy", "fastmath": {"contract"}}


@njit(inline="always", **_JIT)
def _payoff(call, s, k):
    return max(s - k, 0.0) if call else max(k - s, 0.0)


@njit(inline="always", **_JIT)
def _at_spot(values, x0, dx, x):
    """(V, V_x, V_xx) at x by the four-point Lagrange cubic and its derivatives."""
    n = values.shape[0]
    u = (x - x0) / dx
    j = math.floor(u)
    j = min(max(j, 1), n - 3)
    f = u - j
    v0 = values[j - 1]
    v1 = values[j]
    v2 = values[j + 1]
    v3 = values[j + 2]
    # Newton form on nodes -1, 0, 1, 2 (in units of dx).
    d1 = v1 - v0
    d2 = v2 - 2.0 * v1 + v0
    d3 = v3 - 3.0 * v2 + 3.0 * v1 - v0
    # p(f) = v1 + ... written around node 0: with g = f
    # p(f) = v0 + (f+1) d1 + (f+1) f d2/2 + (f+1) f (f-1) d3/6
    g = f + 1.0
    p = v0 + g * d1 + g * f * d2 * 0.5 + g * f * (f - 1.0) * d3 / 6.0
    dp = d1 + (2.0 * f + 1.0) * d2 * 0.5 + (3.0 * f * f - 1.0) * d3 / 6.0
    ddp = d2 + f * d3
    return p, dp / dx, ddp / (dx * dx)


@njit(inline="always", **_JIT)
def _step(v, rhs, a_lo, a_di, a_up, b_lo, b_di, b_up, cp, dp, n):
    """One θ-scheme step: solve (A) v_new = (B) v with A, B tridiagonal (constant bands),
    boundaries v[0], v[n-1] by linear extrapolation in the solution afterwards."""
    for j in range(1, n - 1):
        rhs[j] = b_lo * v[j - 1] + b_di * v[j] + b_up * v[j + 1]
    # Thomas on the interior 1..n-2 with v[0], v[n-1] from the previous step as Dirichlet.
    rhs[1] -= a_lo * v[0]
    rhs[n - 2] -= a_up * v[n - 1]
    cp[1] = a_up / a_di
    dp[1] = rhs[1] / a_di
    for j in range(2, n - 1):
        m = a_di - a_lo * cp[j - 1]
        cp[j] = a_up / m
        dp[j] = (rhs[j] - a_lo * dp[j - 1]) / m
    v[n - 2] = dp[n - 2]
    for j in range(n - 3, 0, -1):
        v[j] = dp[j] - cp[j] * v[j + 1]


@njit(**_JIT)
def solve_grid(call, strike, t, vol, rate, div, american, div_times, div_amounts, x0, dx, nx,
               nt, out, out_prev):
    """Value on the grid x_j = x0 + j dx (j < nx) at valuation (out[nx]) and one time step
    before it (out_prev[nx], for charm). div_times: float64[m] ex times in years from now;
    div_amounts: float64[m]. nt: time steps over [0, t] (more where dividends split)."""
    n = nx
    s_grid = np.empty(n)
    pay = np.empty(n)
    for j in range(n):
        s_grid[j] = math.exp(x0 + j * dx)
        pay[j] = _payoff(call, s_grid[j], strike)
    v = pay.copy()
    rhs = np.empty(n)
    cp = np.empty(n)
    dp = np.empty(n)
    tmp = np.empty(n)
    mu = rate - div - 0.5 * vol * vol
    alpha = 0.5 * vol * vol / (dx * dx)
    beta = mu / (2.0 * dx)
    lo = alpha - beta
    di = -2.0 * alpha - rate
    up = alpha + beta
    # Ex times in τ (time to expiry), inside (0, t), in increasing τ.
    m = div_times.shape[0]
    taus = np.empty(m)
    amts = np.empty(m)
    cnt = 0
    for d in range(m - 1, -1, -1):
        td = div_times[d]
        if 0.0 < td < t:
            taus[cnt] = t - td
            amts[cnt] = div_amounts[d]
            cnt += 1
    dt_nominal = t / nt
    last = 0.0
    tau = 0.0
    next_div = 0
    damp = 4  # Rannacher: quarter steps to take (implicit)
    for j in range(n):
        out_prev[j] = v[j]
    while tau < t * (1.0 - 1e-14):
        target = min(tau + dt_nominal, t)
        if next_div < cnt and taus[next_div] <= target + 1e-14 * t:
            target = taus[next_div]
        h = target - tau
        last = h
        for j in range(n):
            out_prev[j] = v[j]
        if damp > 0:
            hq = h / damp
            for _ in range(damp):
                # implicit Euler: (I - hq L) v_new = v
                _step(v, rhs, -hq * lo, 1.0 - hq * di, -hq * up, 0.0, 1.0, 0.0, cp, dp, n)
                _edges(v, s_grid, n)
                if american:
                    for j in range(n):
                        v[j] = max(v[j], pay[j])
            damp = 0
        else:
            hh = 0.5 * h
            _step(v, rhs, -hh * lo, 1.0 - hh * di, -hh * up, hh * lo, 1.0 + hh * di, hh * up,
                  cp, dp, n)
            _edges(v, s_grid, n)
            if american:
                for j in range(n):
                    v[j] = max(v[j], pay[j])
        tau = target
        while next_div < cnt and taus[next_div] <= tau + 1e-14 * t:
            # Before the ex time the stock is worth D more: V(S) = V(S - D) after it.
            amt = amts[next_div]
            for j in range(n):
                s_after = s_grid[j] - amt
                if s_after <= s_grid[0]:
                    tmp[j] = v[0]
                else:
                    tmp[j] = _at_spot(v, x0, dx, math.log(s_after))[0]
            for j in range(n):
                v[j] = max(tmp[j], pay[j]) if american else tmp[j]
            next_div += 1
            damp = 4
    for j in range(n):
        out[j] = v[j]
    return last


@njit(inline="always", **_JIT)
def _edges(v, s_grid, n):
    """Zero gamma at both edges: V linear in S through the two nearest interior nodes."""
    v[0] = v[1] + (v[2] - v[1]) * (s_grid[0] - s_grid[1]) / (s_grid[2] - s_grid[1])
    v[n - 1] = v[n - 2] + (v[n - 2] - v[n - 3]) * (s_grid[n - 1] - s_grid[n - 2]) / (
        s_grid[n - 2] - s_grid[n - 3])


@njit(**_JIT)
def solve_grids(is_call, strike, t, vol, rate, div, american, div_times, div_amounts, x0, dx,
                nx, nt, vol_bump, rate_bump, values, prev, dt_prev):
    """Solve every option's grid and its four bumped variants: values[5, N, nx] holds the
    solution at σ, σ + h, σ - h, r + h_r, r - h_r (h = vol_bump[i], h_r = rate_bump), prev
    the σ solution one time step earlier (dt_prev[N] that step). x0, dx: float64[N] grid
    start and step."""
    scratch = np.empty(nx)
    for i in range(strike.shape[0]):
        v = vol[i]
        h = vol_bump[i]
        for variant in range(5):
            vv = v + h if variant == 1 else (v - h if variant == 2 else v)
            rr = rate[i] + (rate_bump if variant == 3 else (-rate_bump if variant == 4 else 0.0))
            last = solve_grid(is_call[i], strike[i], t[i], vv, rr, div[i], american[i],
                              div_times, div_amounts, x0[i], dx[i], nx, nt, values[variant, i],
                              prev[i] if variant == 0 else scratch)
            if variant == 0:
                dt_prev[i] = last


@njit(**_JIT)
def grid_figures(values, prev, x0, dx, nx, is_call, strike, t, vol, rate, div, american,
                 vol_bump, rate_bump, dt_prev, spot, elapsed, out):
    """Nine figures per option at spot from solved grids (cubic interpolation in ln S; delta
    and gamma from the interpolant's derivatives; theta from the Black–Scholes PDE, charm
    from the last time step; vega, volga, vanna, rho from the bumped grids). elapsed:
    years since the solve, applied as a first-order time shift (theta, charm)."""
    for i in range(strike.shape[0]):
        s = spot[i] if spot.shape[0] > 1 else spot[0]
        x = math.log(s)
        base = _at_spot(values[0, i], x0[i], dx[i], x)
        up = _at_spot(values[1, i], x0[i], dx[i], x)
        dn = _at_spot(values[2, i], x0[i], dx[i], x)
        r_up = _at_spot(values[3, i], x0[i], dx[i], x)
        r_dn = _at_spot(values[4, i], x0[i], dx[i], x)
        before = _at_spot(prev[i], x0[i], dx[i], x)
        k = strike[i]
        call = is_call[i]
        v = vol[i]
        r = rate[i]
        q = div[i]
        price = base[0]
        delta = base[1] / s
        gamma = (base[2] - base[1]) / (s * s)
        h = vol_bump[i]
        vega = (up[0] - dn[0]) / (2.0 * h)
        volga = (up[0] - 2.0 * price + dn[0]) / (h * h)
        vanna = (up[1] - dn[1]) / (2.0 * h * s)
        rho = (r_up[0] - r_dn[0]) / (2.0 * rate_bump)
        intrinsic = max(s - k, 0.0) if call else max(k - s, 0.0)
        exercised = american[i] and price <= intrinsic * (1.0 + 1e-12) and intrinsic > 0.0
        theta = r * price - (r - q) * s * delta - 0.5 * v * v * s * s * gamma
        charm = (before[1] - base[1]) / (s * dt_prev[i]) if dt_prev[i] > 0.0 else 0.0
        if exercised:
            price = intrinsic
            delta = 1.0 if call else -1.0
            gamma = vega = volga = vanna = rho = theta = charm = 0.0
        # The clock moved since the solve: first order in time.
        price += theta * elapsed
        delta += charm * elapsed
        out[0, i] = price
        out[1, i] = delta
        out[2, i] = gamma
        out[3, i] = vega
        out[4, i] = theta
        out[5, i] = rho
        out[6, i] = vanna
        out[7, i] = volga
        out[8, i] = charm
