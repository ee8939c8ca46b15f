"""Vectorized implied volatility for BSM and Black-76 European options.

`implied_vol(kind, price, spot, strike, t, rate, div_yield=0.0, model="bsm")` inverts
`greeks(...)["price"]` element by element; the solver (see _iv_kernel.py) works on
normalized out-of-the-money prices with a bracketed Halley iteration, so it converges for
short-dated and deep in/out-of-the-money options. Accuracy: |σ - σ_true| < 1e-8 wherever
vega (per 1.00 vol) exceeds 1e-8 × spot, with one physical limit: a float64 price carries
~1e-16 relative rounding, so an in-the-money option whose price is mostly intrinsic value
cannot pin σ closer than ~ulp(max(price, spot, strike)) / vega (e.g. a put struck at 100×
spot with vega 1e-6 × spot: ~1e-6). Out of the money the solver is at machine precision.

Elements with no solution get NaN and a reason (strings, exported as constants):
    OK                "ok"                 solved (a price at intrinsic gives vol 0.0)
    BELOW_INTRINSIC   "below_intrinsic"    price < discounted intrinsic (incl. negative)
    ABOVE_UPPER_BOUND "above_upper_bound"  price >= S e^{-qt} (call) / K e^{-rt} (put)
    EXPIRED           "expired"            t <= 0: vol is undefined
    NO_CONVERGENCE    "no_convergence"     the iteration did not settle (not seen in tests)
Invalid inputs (NaN anywhere, spot/strike <= 0, inf) raise ValueError naming the argument.

style="american" (or an array of styles, or booleans is_american) inverts the American price
instead (app.pricing.american_iv: same reasons; a price below the σ → 0 American value is
BELOW_INTRINSIC; accuracy 1e-9 relative in vol against our own American price).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.pricing._iv_kernel import implied_vol_kernel
from app.pricing.american_iv import american_implied_vols
from app.pricing.greeks import (
    _F64,
    as_float_array,
    black76_flag,
    common_shape,
    flat,
    is_american_array,
    is_call_array,
)

OK = "ok"
BELOW_INTRINSIC = "below_intrinsic"
ABOVE_UPPER_BOUND = "above_upper_bound"
EXPIRED = "expired"
NO_CONVERGENCE = "no_convergence"
#: Reason for kernel code i (int8) is REASONS[i].
REASONS = (OK, BELOW_INTRINSIC, ABOVE_UPPER_BOUND, EXPIRED, NO_CONVERGENCE)
_REASON_ARRAY = np.array(REASONS)

__all__ = ["ABOVE_UPPER_BOUND", "BELOW_INTRINSIC", "EXPIRED", "NO_CONVERGENCE", "OK", "REASONS",
           "implied_vol", "implied_vol_into"]


def _check(arr: np.ndarray, name: str, positive: bool) -> None:
    # One reduction per argument: min/max are NaN when any element is NaN.
    if arr.size == 0:
        return
    lo, hi = arr.min(), arr.max()
    ok = (lo > 0.0 if positive else lo > -np.inf) and hi < np.inf
    if not ok:
        what = "positive and finite" if positive else "finite (not NaN)"
        raise ValueError(f"{name} must be {what}")


def implied_vol(kind: Any, price: Any, spot: Any, strike: Any, t: Any, rate: Any,
                div_yield: Any = 0.0, model: str = "bsm", style: Any = "european",
                return_reason: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Implied vol (annual, 0.2 = 20 %) of European or American option prices; NaN where
    none fits.

    Arguments broadcast like `greeks` (kind: "call"/"put"/bool is_call or arrays of them;
    model "bsm" or "black76" where spot is the futures price and div_yield is ignored).
    Returns a float64 array of the broadcast shape, and with return_reason=True a tuple
    (vol, reason) where reason is a str array of the same shape holding REASONS values.
    """
    black76 = black76_flag(model)
    american = is_american_array(style)
    call = is_call_array(kind)
    p = as_float_array(price, "price")
    s = as_float_array(spot, "spot")
    k = as_float_array(strike, "strike")
    tt = as_float_array(t, "t")
    r = as_float_array(rate, "rate")
    q = np.asarray(0.0) if black76 else as_float_array(div_yield, "div_yield")
    _check(p, "price", positive=False)
    _check(s, "spot", positive=True)
    _check(k, "strike", positive=True)
    _check(tt, "t", positive=False)
    _check(r, "rate", positive=False)
    _check(q, "div_yield", positive=False)
    shape = common_shape((call, p, s, k, tt, r, q, american),
                         ("kind", "price", "spot", "strike", "t", "rate", "div_yield", "style"))
    vol = np.empty(shape)
    reason = np.empty(shape, dtype=np.int8)
    s_in: float | np.ndarray
    r_in: float | np.ndarray
    q_in: float | np.ndarray
    if s.ndim == 0 and r.ndim == 0 and q.ndim == 0:
        s_in, r_in, q_in = float(s), float(r), float(q)
    else:
        s_in, r_in, q_in = flat(s, shape, _F64), flat(r, shape, _F64), flat(q, shape, _F64)
    implied_vol_kernel(flat(call, shape, np.dtype(np.bool_)), flat(p, shape, _F64), s_in,
                       flat(k, shape, _F64), flat(tt, shape, _F64), r_in, q_in, black76,
                       vol.reshape(-1), reason.reshape(-1))
    if american.any():
        am = np.flatnonzero(flat(american, shape, np.dtype(np.bool_)))
        vol_flat = vol.reshape(-1)
        reason_flat = reason.reshape(-1)
        sub_vol = np.empty(am.size)
        sub_reason = np.empty(am.size, dtype=np.int8)
        american_implied_vols(flat(call, shape, np.dtype(np.bool_))[am], flat(p, shape, _F64)[am],
                              flat(s, shape, _F64)[am], flat(k, shape, _F64)[am],
                              flat(tt, shape, _F64)[am], flat(r, shape, _F64)[am],
                              flat(q, shape, _F64)[am], black76, vol_flat[am], sub_vol,
                              sub_reason)
        vol_flat[am] = sub_vol
        reason_flat[am] = sub_reason
    if return_reason:
        return vol, _REASON_ARRAY[reason]
    return vol


def implied_vol_into(is_call: np.ndarray, price: np.ndarray, spot: float | np.ndarray,
                     strike: np.ndarray, t: np.ndarray, rate: float | np.ndarray,
                     div_yield: float | np.ndarray, black76: bool, out: np.ndarray,
                     reason: np.ndarray) -> np.ndarray:
    """Hot-path implied vol, no validation/allocation: fills out (float64[N]) and reason
    (int8[N], codes index REASONS); argument forms as in `greeks_into`. Returns out."""
    implied_vol_kernel(is_call, price, spot, strike, t, rate, div_yield, black76, out, reason)
    return out
