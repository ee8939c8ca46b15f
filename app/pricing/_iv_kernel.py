# mypy: ignore-errors
# (numba kernels: types are inferred by numba at compile time, not annotated)
"""Numba implied-vol solver on normalized out-of-the-money prices.

Every option is reduced (put-call parity, then dividing by √(FK)) to an out-of-the-money
call on log-moneyness x = ln(F/K) <= 0 with total vol s = σ√t:
    b(x, s) = e^{x/2} N(x/s + s/2) - e^{-x/2} N(x/s - s/2),   0 < b < b_max = e^{x/2},
    b'(s) = e^{x/2} n(x/s + s/2),   b''/b' = x²/s³ - s/4.
b is convex in s below s_c = √(-2x) and concave above. As in Jäckel's "Let's Be Rational"
the root is polished on an objective that is nearly linear in each branch:
    low  (β < b(s_c)):  f = 1/ln b(s) - 1/ln β  seeded from the asymptote ln b ≈ -x²/(2s²);
    high (β >= b(s_c)): f = ln(b_max - β) - ln(b_max - b(s)), seeded by inverting the x = 0
                        case b_max - b = 2 N(-s/2) (exact at the money).
Halley steps inside a bracket that tightens on every evaluation; a step leaving the bracket
falls back to Newton, then to bisection, so it converges for any input in (0, b_max).

Speed: `implied_vol_kernel` runs VECTOR_STEPS such steps on every option with selects only
(no data-dependent branch), in sweeps over blocks so each sweep is an innermost loop LLVM
vectorizes with AVX-512; the ~1 % not settled after them are re-solved by the scalar
early-exit `solve_total_vol`. Numba-level inlining (inline="always") is what lets the
arithmetic exp/log/erfc of _special.py vectorize; it also makes the first compile slow
(tens of seconds), hence cache=True and `warm_up()`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from app.pricing._kernels import _at
from app.pricing._special import exp_, log_, norm_ppf_approx, norm_tail

# Reason codes (index into implied_vol.REASONS).
R_OK, R_BELOW, R_ABOVE, R_EXPIRED, R_NO_CONVERGENCE = range(5)

_INV_SQRT_2PI = 0.3989422804014327
_EPS = 2.220446049250313e-16
MAX_ITERATIONS = 40
#: A Newton step below this (relative to s) triggers the last Halley step.
LAST_STEP = 1e-9
#: Halley steps every option takes in the vectorized pass.
VECTOR_STEPS = 5
#: Bracket width (relative to s) at which bisection stops.
S_TOL = 1e-14

_JIT = {"cache": True, "error_model": "numpy", "fastmath": {"contract"}}


@njit(inline="always", **_JIT)
def _otm_call(x, ex, emx, s):
    """(b, b_max - b, b') at total vol s > 0 for x <= 0 (ex = e^{x/2}, emx = e^{-x/2})."""
    hp = x / s + 0.5 * s
    hm = x / s - 0.5 * s  # < 0 always
    ep = exp_(-0.5 * hp * hp)
    em = exp_(-0.5 * hm * hm)
    tp = norm_tail(abs(hp), ep)  # N(-|h+|)
    n_hm = norm_tail(-hm, em)  # N(h-)
    n_hp = tp if hp < 0.0 else 1.0 - tp
    n_mhp = 1.0 - tp if hp < 0.0 else tp
    b = ex * n_hp - emx * n_hm
    m = ex * n_mhp + emx * n_hm  # both terms positive: no cancellation near b_max
    v = _INV_SQRT_2PI * ex * ep
    return b, m, v


@njit(inline="always", **_JIT)
def solve_total_vol(beta, x):
    """Total vol s with b(x, s) = beta, for x <= 0 and 0 < beta < e^{x/2}.

    Returns (s, converged).
    """
    ex = exp_(0.5 * x)
    emx = 1.0 / ex
    sc = math.sqrt(-2.0 * x)
    bc = _otm_call(x, ex, emx, sc)[0] if sc > 0.0 else 0.0
    low = beta < bc
    lb = log_(beta)
    lmb = log_(ex - beta)
    if low:
        lo, hi = 0.0, sc
        # ln b ≈ -x²/(2 s²) (deep out of the money / short dated)
        s = min(-x / math.sqrt(-2.0 * lb), sc)
    else:
        lo, hi = sc, np.inf
        # b_max - b ≈ (e^{x/2} + e^{-x/2}) N(-s/2), exact at x = 0
        s = max(-2.0 * norm_ppf_approx(min((ex - beta) / (ex + emx), 0.5)), sc)
    converged = False
    for _ in range(MAX_ITERATIONS):
        b, m, v = _otm_call(x, ex, emx, s)
        if b < beta:
            lo = s
        else:
            hi = s
        w = x * x / (s * s * s) - 0.25 * s
        if low:
            lnb = log_(b)
            vb = v / b
            nu = (1.0 / lnb - 1.0 / lb) * lnb * lnb / vb  # -f/f'
            h2 = (w - vb) - 2.0 * vb / lnb  # f''/f'
        else:
            vm = v / m
            nu = (log_(m) - lmb) / vm
            h2 = w + vm
        den = 1.0 + 0.5 * nu * h2
        if abs(nu) <= LAST_STEP * s:
            # Halley is cubic: from 1e-9 away one step lands at machine precision, and more
            # steps would only chase the rounding noise of b(s).
            s += nu / den if den > 0.0 else nu
            converged = True
            break
        s_new = s + nu / den if den > 0.0 else s + nu
        if not (lo <= s_new <= hi):
            s_new = s + nu  # Halley left the bracket: try plain Newton
            if not (lo <= s_new <= hi):
                s_new = 0.5 * (lo + hi) if hi < np.inf else 2.0 * lo
        step = abs(s_new - s)
        s = s_new
        if step <= S_TOL * s or hi - lo <= S_TOL * s:
            converged = True
            break
    return s, converged


# Not inlined: the scalar fallback is compiled once for float arguments and shared by every
# kernel signature (numba-level inlining of the solver doubles the first compile time).
@njit(**_JIT)
def implied_vol_one(call, price, spot, strike, t, r, q, black76):
    """(σ, reason code) for one option; inputs already validated (finite, positive)."""
    if t <= 0.0:
        return np.nan, R_EXPIRED
    b = 0.0 if black76 else r - q
    dr = exp_(-r * t)
    fwd = spot * exp_(b * t)
    p = price / dr  # undiscounted
    intrinsic = max(fwd - strike, 0.0) if call else max(strike - fwd, 0.0)
    upper = fwd if call else strike
    p_otm = p - intrinsic
    # A quote equal to intrinsic up to the rounding of the forward is vol 0, not an error.
    tol = 4.0 * _EPS * max(fwd, strike)
    if p_otm < -tol:
        return np.nan, R_BELOW
    if p >= upper:
        return np.nan, R_ABOVE
    x = log_(spot / strike) + b * t
    sqrt_fk = math.sqrt(fwd) * math.sqrt(strike)
    beta = p_otm / sqrt_fk
    if beta <= 0.0:
        return 0.0, R_OK
    xo = -abs(x)
    if beta >= exp_(0.5 * xo):
        return np.nan, R_ABOVE
    s, ok = solve_total_vol(beta, xo)
    if not ok:
        return np.nan, R_NO_CONVERGENCE
    return s / math.sqrt(t), R_OK


@njit(inline="always", **_JIT)
def _guess(beta, x, ex, emx, sc, low, lb):
    """Starting total vol: the low-branch asymptote or the x = 0 inversion (branch-free)."""
    s_low = min(-x / math.sqrt(-2.0 * lb), sc)
    s_high = max(-2.0 * norm_ppf_approx(min((ex - beta) / (ex + emx), 0.5)), sc)
    return s_low if low else s_high


@njit(inline="always", **_JIT)
def _step(s, lo, hi, beta, x, ex, emx, low, lb, lmb, prev_rel):
    """One bracketed Halley step, written with selects only (vectorizable).

    prev_rel is the previous |Newton step| / s (inf at first); once it is <= LAST_STEP the
    option has had its final polishing step and s stays. Returns (s_new, lo, hi, rel).
    """
    b, m, v = _otm_call(x, ex, emx, s)
    below = b < beta
    lo = s if below else lo
    hi = hi if below else s
    w = x * x / (s * s * s) - 0.25 * s
    lnb = log_(max(b, 1e-300))
    vb = v / b
    vm = v / m
    nu_low = (1.0 / lnb - 1.0 / lb) * lnb * lnb / vb
    nu_high = (log_(m) - lmb) / vm
    nu = nu_low if low else nu_high
    h2 = ((w - vb) - 2.0 * vb / lnb) if low else (w + vm)
    den = 1.0 + 0.5 * nu * h2
    s_halley = s + nu / den if den > 0.0 else s + nu
    s_newton = s + nu
    s_bisect = 0.5 * (lo + hi) if hi < np.inf else 2.0 * lo
    s_new = s_bisect
    s_new = s_newton if lo <= s_newton <= hi else s_new
    s_new = s_halley if lo <= s_halley <= hi else s_new
    # At the root up to rounding noise the bracket may exclude s + nu by an ulp; keep the
    # polishing step rather than bisecting away from the root.
    rel = abs(nu) / s
    s_new = s_halley if rel <= LAST_STEP else s_new
    # Settled options stop moving: more steps would only wander in the noise of b(s).
    settled = prev_rel <= LAST_STEP
    return (s if settled else s_new), lo, hi, (prev_rel if settled else rel)


@njit(inline="always", **_JIT)
def _normalize(call, price, spot, k, t, r, q, black76):
    """One quote as (code, ts, beta, x): code R_OK (solve), a failure code or -2 (price at
    intrinsic: vol 0); beta the normalized OTM price (a solvable dummy unless R_OK)."""
    b = 0.0 if black76 else r - q
    ts = t if t > 0.0 else 1.0
    dr = exp_(-r * ts)
    fwd = spot * exp_(b * ts)
    p = price / dr
    intrinsic = max(fwd - k, 0.0) if call else max(k - fwd, 0.0)
    upper = fwd if call else k
    p_otm = p - intrinsic
    x = -abs(log_(spot / k) + b * ts)  # as in the pricing kernel, so round trips agree
    ex = exp_(0.5 * x)
    beta = p_otm / (math.sqrt(fwd) * math.sqrt(k))
    code = R_OK
    code = -2 if beta <= 0.0 else code
    code = R_ABOVE if (p >= upper) or (beta >= ex) else code
    code = R_BELOW if p_otm < -4.0 * _EPS * max(fwd, k) else code
    code = R_EXPIRED if t <= 0.0 else code
    beta = beta if code == R_OK else 0.5 * ex  # keeps the lanes not solved harmless
    return code, ts, beta, x


@njit(inline="always", **_JIT)
def _start(beta, x):
    """(low, s0, lo, hi): branch, starting total vol and bracket for b(x, s) = beta."""
    ex = exp_(0.5 * x)
    emx = 1.0 / ex
    sc = math.sqrt(-2.0 * x)
    bc = _otm_call(x, ex, emx, max(sc, 1e-300))[0]
    low = (beta < bc) and (sc > 0.0)
    s0 = _guess(beta, x, ex, emx, sc, low, log_(beta))
    return low, s0, (0.0 if low else sc), (sc if low else np.inf)


_BLOCK = 256


@njit(cache=True, error_model="numpy", fastmath={"contract"}, nogil=True)
def implied_vol_kernel(is_call, price, spot, strike, t, rate, div, black76, out, reason):
    """Fill out[N] (vol, NaN when none) and reason[N] (int8 code); spot/rate/div are scalars
    or arrays as in greeks_kernel. No validation here (done by the caller).

    Blocks of _BLOCK options go through setup, VECTOR_STEPS bracketed Halley sweeps and a
    finish, each an inner loop of selects only, so LLVM vectorizes every sweep. Options not
    settled after the sweeps (rare) are solved again by the scalar early-exit solver.
    """
    n = price.shape[0]
    # Few arrays per sweep: each extra array is another runtime alias check for LLVM's
    # vectorizer, and past its budget the loop silently stays scalar.
    code_b = np.empty(_BLOCK, np.int64)
    ts_b = np.empty(_BLOCK)
    beta_b = np.empty(_BLOCK)
    x_b = np.empty(_BLOCK)
    low_b = np.empty(_BLOCK, np.bool_)
    s_b = np.empty(_BLOCK)
    lo_b = np.empty(_BLOCK)
    hi_b = np.empty(_BLOCK)
    rel_b = np.empty(_BLOCK)
    pending = False
    for start in range(0, n, _BLOCK):
        m = min(_BLOCK, n - start)
        for j in range(m):
            i = start + j
            code_b[j], ts_b[j], beta_b[j], x_b[j] = _normalize(
                is_call[i], price[i], _at(spot, i), strike[i], t[i], _at(rate, i),
                _at(div, i), black76)
        for j in range(m):
            low_b[j], s_b[j], lo_b[j], hi_b[j] = _start(beta_b[j], x_b[j])
            rel_b[j] = np.inf
        for _ in range(VECTOR_STEPS):
            for j in range(m):
                beta = beta_b[j]
                x = x_b[j]
                ex = exp_(0.5 * x)
                s_b[j], lo_b[j], hi_b[j], rel_b[j] = _step(
                    s_b[j], lo_b[j], hi_b[j], beta, x, ex, 1.0 / ex, low_b[j], log_(beta),
                    log_(ex - beta), rel_b[j])
        for j in range(m):
            code = code_b[j]
            fallback = (code == R_OK) and not (rel_b[j] <= LAST_STEP)
            pending |= fallback
            vol = s_b[j] / math.sqrt(ts_b[j]) if code == R_OK else np.nan
            vol = 0.0 if code == -2 else vol
            out[start + j] = vol
            reason[start + j] = -1 if fallback else (R_OK if code == -2 else code)
    if pending:
        for i in range(n):
            if reason[i] == -1:
                out[i], reason[i] = implied_vol_one(is_call[i], price[i], _at(spot, i),
                                                    strike[i], t[i], _at(rate, i), _at(div, i),
                                                    black76)
