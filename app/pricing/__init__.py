"""Pricing core: vectorized BSM / Black-76 Greeks and implied vol (numpy + numba only).

Arrays in, arrays out; nothing here imports the rest of `app`.
- `greeks(kind, spot, strike, t, vol, rate, div_yield=0.0, model="bsm", style="european",
  dividends=None)` -> {name: array} validated, broadcasting; units and edge conventions in
  `app.pricing.greeks`; style "american" (or an array of styles) prices American exercise
  (`app.pricing.american`), dividends cash dividends in the spot model (`app.pricing.dividends`).
- `greeks_into(is_call, spot, strike, t, vol, rate, div_yield, black76, out)`: the book's
  unvalidated, allocation-free hot path; out is float64[9, N] in GREEK_NAMES row order.
- `implied_vol(kind, price, spot, strike, t, rate, div_yield=0.0, model="bsm",
  style="european", return_reason=False)`; reasons are the string constants OK,
  BELOW_INTRINSIC, ...
- American hot path with cached exercise boundaries: `american_boundaries(...)` -> (state,
  panel), `american_greeks_into(..., state, panel, out)`, `american_implied_vol_into(...)`,
  `american_vol_range(...)` (what to cache and when to rebuild: `app.pricing.boundary`);
  for spot/clock ticks, the boundary at each option's nodes: `american_prepare(...)` ->
  AmericanNodes, `american_nodes_greeks_into(nodes, spot, elapsed, out)`; the rows a tick
  found stale prepared again alone: `american_nodes_replace(nodes, rows, fresh, elapsed)`.
- Cash dividends, grids reused across ticks: `dividend_grids(...)` -> DividendGrid,
  `dividend_grid_greeks_into(grid, spot, elapsed, out)`.
- `warm_up()`: compile/load every kernel at start-up, never on the first tick.
- `FloatArray`, `BoolArray`, `Int8Array`: the array types every layer annotates with.
"""

from app.pricing.american import (
    MIN_VOL,
    AmericanNodes,
    american_greeks_into,
    american_nodes_greeks_into,
    american_nodes_replace,
    american_prepare,
)
from app.pricing.american_iv import american_implied_vol_into, american_vol_range
from app.pricing.arrays import BoolArray, FloatArray, Int8Array
from app.pricing.boundary import AmericanBoundaries, american_boundaries
from app.pricing.dividends import (
    DividendGrid,
    dividend_grid_greeks_into,
    dividend_grids,
    dividend_schedule,
)
from app.pricing.greeks import GREEK_NAMES, MODELS, STYLES, SV_FLOOR, greeks, greeks_into
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
    "MIN_VOL",
    "MODELS",
    "NO_CONVERGENCE",
    "OK",
    "REASONS",
    "STYLES",
    "SV_FLOOR",
    "AmericanBoundaries",
    "AmericanNodes",
    "BoolArray",
    "DividendGrid",
    "FloatArray",
    "Int8Array",
    "american_boundaries",
    "american_greeks_into",
    "american_implied_vol_into",
    "american_nodes_greeks_into",
    "american_nodes_replace",
    "american_prepare",
    "american_vol_range",
    "dividend_grid_greeks_into",
    "dividend_grids",
    "dividend_schedule",
    "greeks",
    "greeks_into",
    "implied_vol",
    "implied_vol_into",
    "warm_up",
]
