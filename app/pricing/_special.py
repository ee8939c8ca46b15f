# mypy: ignore-errors
# (numba kernels: types are inferred by numba at compile time, not annotated)
"""exp, log and the normal distribution written with arithmetic only, for numba kernels.

Why not `math.exp` / `math.erfc`: numba lowers those to calls into libm, and a loop that
calls out of line cannot be vectorized by LLVM (no SVML here). Written as polynomials,
rational functions and two bit casts, the same functions inline into the pricing loop and
LLVM turns the loop into AVX-512 code, 8 options per instruction.

Accuracy (double precision, checked in tests/pricing/test_special.py against libm/scipy):
- `exp_`: Cody-Waite range reduction, degree-13 Taylor polynomial: < 2 ulp, handles
  underflow to subnormals / zero; clamps at +709.78 instead of returning inf.
- `log_`: positive normal and subnormal input, atanh series: < 2 ulp.
- `norm_tail(a, e)`: N(-a) for a >= 0 given e = exp(-a²/2), W. J. Cody's rational
  approximations of erf/erfc (Math. Comp. 1969, as in CALERF): relative error ~1e-15 (the
  exp(-a²/2) supplied by the caller carries a²/2 ulp of relative error, < 1e-13 for a < 38).

All functions are scalar-in/scalar-out, `inline="always"` so each kernel gets its own copy.

Caution when editing this file: numba's on-disk cache of a kernel is keyed on the kernel's own
source file, so kernels in _kernels.py / _iv_kernel.py keep their old copy of these functions
until `app/pricing/__pycache__/*.nbi|*.nbc` is deleted (or their files are touched).
"""

from __future__ import annotations

import math

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

# ---------------------------------------------------------------- bit casts (LLVM bitcast)


@intrinsic
def _f64_from_bits(typingctx, bits):  # pragma: no cover - compiled code
    """Reinterpret an int64 as the float64 with the same bits (free: a register move)."""
    if not isinstance(bits, types.Integer):
        return None
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], signature.args[0], types.int64)
        return builder.bitcast(value, ir.DoubleType())

    return sig, codegen


@intrinsic
def _bits_from_f64(typingctx, value):  # pragma: no cover - compiled code
    """Reinterpret a float64 as the int64 with the same bits."""
    if not isinstance(value, types.Float):
        return None
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


_JIT = {"inline": "always", "cache": True, "error_model": "numpy", "fastmath": {"contract"}}

# ---------------------------------------------------------------- exp

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so k * _LN2_HI is exact for |k| < 2^11
_LN2_LO = 1.90821492927058770002e-10
_EXP_MAX = 709.782712893384
_EXP_MIN = -746.0  # exp_(-746) rounds to exactly 0


@njit(**_JIT)
def exp_(x):
    """e**x for float64 x (x > 709.78 clamps to ~1.8e308; NaN gives 0, never UB)."""
    # Clamp with comparisons written so that NaN also maps to _EXP_MIN (result 0): the float
    # to int conversion below must never see NaN (undefined in LLVM).
    x = x if x > _EXP_MIN else _EXP_MIN
    x = x if x < _EXP_MAX else _EXP_MAX
    k = math.floor(x * _LOG2E + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO  # |r| <= ln2/2
    # Taylor series of e**r to degree 13: truncation < 4e-18 relative on |r| <= 0.3466.
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    # 2**k in two halves so subnormal results (k down to -1075) need no branch.
    ki = int(k)
    k1 = ki >> 1
    k2 = ki - k1
    return p * _f64_from_bits((k1 + 1023) << 52) * _f64_from_bits((k2 + 1023) << 52)


# ---------------------------------------------------------------- log

_SQRT2 = 1.4142135623730951
_TWO54 = 18014398509481984.0
_MANTISSA = (1 << 52) - 1
_EXP_ONE = 1023 << 52


@njit(**_JIT)
def log_(x):
    """Natural log of a positive finite float64 (normal or subnormal)."""
    tiny = x < 2.2250738585072014e-308
    x = x * _TWO54 if tiny else x
    bits = _bits_from_f64(x)
    e = ((bits >> 52) & 0x7FF) - 1023
    m = _f64_from_bits((bits & _MANTISSA) | _EXP_ONE)  # m in [1, 2)
    big = m > _SQRT2
    m = m * 0.5 if big else m  # m in [0.707, 1.414]
    ef = float(e) + (1.0 if big else 0.0) - (54.0 if tiny else 0.0)
    f = (m - 1.0) / (m + 1.0)  # m - 1 is exact here (Sterbenz)
    f2 = f * f
    # 2 atanh(f) = 2 (f + f^3/3 + f^5/5 + ...), |f| <= 0.1716, 12 terms: < 1e-18 relative.
    s = 2.0 / 25.0
    s = s * f2 + 2.0 / 23.0
    s = s * f2 + 2.0 / 21.0
    s = s * f2 + 2.0 / 19.0
    s = s * f2 + 2.0 / 17.0
    s = s * f2 + 2.0 / 15.0
    s = s * f2 + 2.0 / 13.0
    s = s * f2 + 2.0 / 11.0
    s = s * f2 + 2.0 / 9.0
    s = s * f2 + 2.0 / 7.0
    s = s * f2 + 2.0 / 5.0
    s = s * f2 + 2.0 / 3.0
    # log m = 2f + f*f2*s; adding the big parts last keeps the rounding error near 1 ulp.
    return ef * _LN2_HI + (2.0 * f + (f * f2 * s + ef * _LN2_LO))


# ---------------------------------------------------------------- normal distribution

_INV_SQRT2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327
_RSQRTPI = 0.5641895835477563


@njit(**_JIT)
def norm_tail(a, e):
    """N(-a) = 0.5 erfc(a/√2) for a >= 0 (may be +inf), given e = exp(-a²/2).

    Three Cody ranges on y = a/√2 are all evaluated and one is selected, so the code has no
    data-dependent branch and vectorizes; the unselected ranges may produce inf/NaN
    internally, which is harmless because they are discarded by the selects.
    """
    y = a * _INV_SQRT2
    # |y| <= 0.46875: erf(y) = y P(y²)/Q(y²); N(-a) = 0.5 - 0.5 erf(y)
    z = y * y
    num = 1.85777706184603153e-1 * z
    num = (num + 3.16112374387056560e00) * z
    num = (num + 1.13864154151050156e02) * z
    num = (num + 3.77485237685302021e02) * z
    den = (z + 2.36012909523441209e01) * z
    den = (den + 2.44024637934444173e02) * z
    den = (den + 1.28261652607737228e03) * z
    r1 = 0.5 - 0.5 * y * (num + 3.20937758913846947e03) / (den + 2.84423683343917062e03)
    # 0.46875 < y <= 4: erfc(y) = exp(-y²) P(y)/Q(y)
    num = 2.15311535474403846e-8 * y
    num = (num + 5.64188496988670089e-1) * y
    num = (num + 8.88314979438837594e00) * y
    num = (num + 6.61191906371416295e01) * y
    num = (num + 2.98635138197400131e02) * y
    num = (num + 8.81952221241769090e02) * y
    num = (num + 1.71204761263407058e03) * y
    num = (num + 2.05107837782607147e03) * y
    den = (y + 1.57449261107098347e01) * y
    den = (den + 1.17693950891312499e02) * y
    den = (den + 5.37181101862009858e02) * y
    den = (den + 1.62138957456669019e03) * y
    den = (den + 3.29079923573345963e03) * y
    den = (den + 4.36261909014324716e03) * y
    den = (den + 3.43936767414372164e03) * y
    r2 = 0.5 * e * (num + 1.23033935479799725e03) / (den + 1.23033935480374942e03)
    # y > 4: erfc(y) = exp(-y²)/y (1/√π - z P(z)/Q(z)), z = 1/y²
    w = 1.0 / (y * y)
    num = 1.63153871373020978e-2 * w
    num = (num + 3.05326634961232344e-1) * w
    num = (num + 3.60344899949804439e-1) * w
    num = (num + 1.25781726111229246e-1) * w
    num = (num + 1.60837851487422766e-2) * w
    den = (w + 2.56852019228982242e00) * w
    den = (den + 1.87295284992346047e00) * w
    den = (den + 5.27905102951428412e-1) * w
    den = (den + 6.05183413124413191e-2) * w
    tail = w * (num + 6.58749161529837803e-4) / (den + 2.33520497626869185e-3)
    r3 = 0.5 * e * (_RSQRTPI - tail) / y
    r3 = 0.0 if e == 0.0 else r3  # y = inf gives 0 * (.../inf) = NaN otherwise
    return r1 if y <= 0.46875 else (r2 if y <= 4.0 else r3)


@njit(**_JIT)
def norm_cdf(x):
    """N(x) for finite or infinite float64 x (accurate in both tails)."""
    a = abs(x)
    t = norm_tail(a, exp_(-0.5 * a * a))
    return 1.0 - t if x > 0.0 else t


@njit(**_JIT)
def norm_pdf(x):
    """n(x) = exp(-x²/2)/√(2π)."""
    return _INV_SQRT_2PI * exp_(-0.5 * x * x)


@njit(**_JIT)
def norm_ppf_approx(p):
    """Approximate inverse of N for 0 < p < 1 (P. J. Acklam, relative error < 1.2e-9).

    Only used to seed iterative solvers, where 1e-9 is plenty.
    """
    q = min(p, 1.0 - p)
    # Both branches are computed and one selected, so loops calling this vectorize.
    u = math.sqrt(-2.0 * log_(max(q, 1e-300)))
    num = ((((-7.784894002430293e-03 * u - 3.223964580411365e-01) * u
             - 2.400758277161838e00) * u - 2.549732539343734e00) * u
           + 4.374664141464968e00) * u + 2.938163982698783e00
    den = (((7.784695709041462e-03 * u + 3.224671290700398e-01) * u
            + 2.445134137142996e00) * u + 3.754408661907416e00) * u + 1.0
    z_tail = num / den
    c = q - 0.5
    w = c * c
    num = (((((-3.969683028665376e01 * w + 2.209460984245205e02) * w
              - 2.759285104469687e02) * w + 1.383577518672690e02) * w
            - 3.066479806614716e01) * w + 2.506628277459239e00) * c
    den = ((((-5.447609879822406e01 * w + 1.615858368580409e02) * w
             - 1.556989798598866e02) * w + 6.680131188771972e01) * w
           - 1.328068155288572e01) * w + 1.0
    z = z_tail if q < 0.02425 else num / den  # N^{-1}(q), q <= 0.5
    return z if q == p else -z
