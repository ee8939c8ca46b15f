"""Straightforward numpy pricing: the yardstick for the benchmark and a second opinion in tests.

One ufunc per formula term, `scipy.special.ndtr` for N(d); no validation, no edge cases
(t > 0 and vol > 0 assumed). Same conventions as `app.pricing.greeks` (see _kernels.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtr

ArrayLike = Any

_INV_SQRT_2PI = 0.3989422804014327


def greeks_reference(is_call: ArrayLike, spot: ArrayLike, strike: ArrayLike, t: ArrayLike,
                     vol: ArrayLike, rate: ArrayLike, div_yield: ArrayLike = 0.0,
                     black76: bool = False) -> dict[str, np.ndarray]:
    """All nine figures as a dict of float64 arrays (broadcast shape of the inputs)."""
    phi = np.where(is_call, 1.0, -1.0)
    b = 0.0 if black76 else rate - div_yield
    sqt = np.sqrt(t)
    sv = vol * sqt
    dr = np.exp(-rate * t)
    dq = dr if black76 else np.exp(-div_yield * t)
    d1 = (np.log(spot / strike) + b * t) / sv + 0.5 * sv
    d2 = d1 - sv
    n1 = _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
    nd1 = ndtr(phi * d1)
    nd2 = ndtr(phi * d2)
    sdq = spot * dq
    kdr = strike * dr
    price = phi * (sdq * nd1 - kdr * nd2)
    vega = sdq * n1 * sqt
    return {
        "price": price,
        "delta": phi * dq * nd1,
        "gamma": dq * n1 / (spot * sv),
        "vega": vega,
        "theta": -sdq * n1 * vol / (2.0 * sqt) - phi * (b - rate) * sdq * nd1
        - phi * rate * kdr * nd2,
        "rho": -t * price if black76 else phi * strike * t * dr * nd2,
        "vanna": -dq * n1 * d2 / vol,
        "volga": vega * d1 * d2 / vol,
        "charm": -phi * (b - rate) * dq * nd1 - dq * n1 * (2.0 * b * t - d2 * sv) / (2.0 * t * sv),
    }


def implied_vol_reference(is_call: ArrayLike, price: ArrayLike, spot: ArrayLike,
                          strike: ArrayLike, t: ArrayLike, rate: ArrayLike,
                          div_yield: ArrayLike = 0.0, black76: bool = False,
                          iterations: int = 40) -> np.ndarray:
    """Vectorized Newton on vol from 0.2 with a [1e-4, 10] clamp; NaN where it fails.

    Fixed iteration count (every element iterates); no bracketing, so deep in/out-of-the-money
    short-dated options may not converge - the simple method the fast solver is measured against.
    """
    phi = np.where(is_call, 1.0, -1.0)
    b = 0.0 if black76 else rate - div_yield
    sqt = np.sqrt(t)
    dr = np.exp(-rate * t)
    dq = dr if black76 else np.exp(-div_yield * t)
    x = np.log(spot / strike) + b * t
    sdq = spot * dq
    kdr = strike * dr
    vol = np.full(np.broadcast(price, spot, strike, t).shape, 0.2)
    with np.errstate(all="ignore"):
        for _ in range(iterations):
            sv = vol * sqt
            d1 = x / sv + 0.5 * sv
            d2 = d1 - sv
            model = phi * (sdq * ndtr(phi * d1) - kdr * ndtr(phi * d2))
            vega = sdq * _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1) * sqt
            vol = np.clip(vol - (model - price) / vega, 1e-4, 10.0)
        ok = np.abs(model - price) <= 1e-10 * np.maximum(price, 1e-300) + 1e-12
    return np.where(ok, vol, np.nan)
