"""Pricing core: vectorized BSM / Black-76 Greeks and implied vol (numpy + numba only).

Arrays in, arrays out; nothing here imports the rest of `app`.
- `greeks(kind, spot, strike, t, vol, rate, div_yield=0.0, model="bsm")` -> {name: array}
  validated, broadcasting; units and edge conventions in `app.pricing.greeks`.
- `greeks_into(is_call, spot, strike, t, vol, rate, div_yield, black76, out)`: the book's
  unvalidated, allocation-free hot path; out is float64[9, N] in GREEK_NAMES row order.
- `implied_vol(kind, price, spot, strike, t, rate, div_yield=0.0, model="bsm",
  return_reason=False)`; reasons are the string constants OK, BELOW_INTRINSIC, ...
- `warm_up()`: compile/load every kernel at start-up, never on the first tick.
- `FloatArray`, `BoolArray`, `Int8Array`: the array types every layer annotates with.
"""

from app.pricing.arrays import BoolArray, FloatArray, Int8Array
from app.pricing.greeks import GREEK_NAMES, MODELS, SV_FLOOR, greeks, greeks_into
from app.pricing.implied_vol import (
    ABOVE_UPPER_BOUND,
    BELOW_INTRINSIC,
    EXPIRED,
    NO_CONVERGENCE,
    OK,
    REASONS,
    implied_vol,
    implied_vol_into,
)
from app.pricing.warmup import warm_up

__all__ = [
    "ABOVE_UPPER_BOUND",
    "BELOW_INTRINSIC",
    "EXPIRED",
    "GREEK_NAMES",
    "MODELS",
    "NO_CONVERGENCE",
    "OK",
    "REASONS",
    "SV_FLOOR",
    "BoolArray",
    "FloatArray",
    "Int8Array",
    "greeks",
    "greeks_into",
    "implied_vol",
    "implied_vol_into",
    "warm_up",
]
