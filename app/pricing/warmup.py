"""Compile (or load from numba's on-disk cache) every kernel signature the API uses.

Call `warm_up()` once at service start-up so the first tick never pays for compilation:
first run in a fresh checkout compiles (tens of seconds), later runs load the cache
(`__pycache__/*.nbi/*.nbc`, well under a second).
"""

from __future__ import annotations

import numpy as np

from app.pricing._iv_kernel import implied_vol_kernel
from app.pricing._kernels import greeks_kernel
from app.pricing.convertible import warm_up_convertible

__all__ = ["warm_up"]


def warm_up() -> None:
    """Run each kernel once per signature: spot/rate/div_yield as floats and as arrays."""
    n = 2
    is_call = np.array([True, False])
    strike = np.full(n, 100.0)
    t = np.full(n, 0.5)
    vol = np.full(n, 0.2)
    out = np.empty((9, n))
    iv = np.empty(n)
    reason = np.empty(n, dtype=np.int8)
    markets = ((100.0, 0.01, 0.0), (np.full(n, 100.0), np.full(n, 0.01), np.zeros(n)))
    for spot, rate, div in markets:
        for black76 in (False, True):
            for validate in (False, True):
                greeks_kernel(is_call, spot, strike, t, vol, rate, div, black76, validate, out)
            implied_vol_kernel(is_call, out[0].copy(), spot, strike, t, rate, div, black76, iv,
                               reason)
    warm_up_convertible()
