"""Convertible bonds: Tsiveriotis–Fernandes values and Greeks, solved once, revalued per tick.

The model and scheme are in `_convertible_grid.py` (and `_convertible_step.py`); the bond's
conventions (coupons, accrued, clean call/put prices, soft calls, times in years from the
valuation time) in `convertible_terms.py`. Use, per underlying:

    batch = pack([ConvertibleTerms(conversion_ratio=8, maturity=3.0, ...), ...])  # book change
    state = solve(batch, spot, vol, rate, div_yield, dividends=((0.4, 1.2),))  # re-solve
    figs = revalue(state, new_spot)              # every tick: an interpolation, no solve
    codes = needs_resolve(state, spot, vol, rate, div_yield, t_elapsed=dt)  # != 0: re-solve

What the caller caches: the batch (rebuilt when the book's convertibles change) and the
state (immutable; per bond its spot grid and the figures at every node for the market and
valuation time of the solve). A tick calls `revalue_into` (hot path, no allocation) at the
new spot. The state does NOT follow time, vol, rate, dividend yield, spread or dividends;
`needs_resolve` tells, per bond, when those — or an event passing (coupon, put, call period
edge, dividend, maturity), or a spot move past `GridSpec.reuse_band` — make it too stale;
the caller re-solves those bonds (or all) when it sees a non-zero code, rebuilding the terms'
times from its clock (`ConvertibleTerms.advanced` for a caller that keeps years). A change
of the cash dividends is the caller's to notice. A batch is ONE underlying's convertibles
(they share its dividends); vol, rate, div_yield and credit_spread may differ per bond.

Figures (per bond of `face`; raw units — the desk layer scales to its conventions):
    price                       full (dirty) value, $; clean = price − accrued
    delta                       dV/dS, shares of the underlying (the hedge ratio)
    gamma                       d²V/dS², shares per $1
    vega                        dV/dσ per 1.00 of vol
    theta                       dV/d(calendar time) per year, S fixed (centred difference over
                                the last time step and one step past the valuation time)
    rho                         dV/dr per 1.00 of rate, q and the spread held (the cash part's
                                rate r + s moves with r)
    credit_spread_sensitivity   dV/ds per 1.00 of spread (× 1e-4 for per bp)
    bond_floor                  the straight bond at r + s with the put schedule (no
                                conversion, no call), $
    conversion_value            conversion_ratio × S, $
    conversion_premium          (price − conversion_value) / conversion_value
    accrued                     accrued interest at the valuation time, $
vega, rho and the spread sensitivity are differences of solves bumped by 1e-4, 1e-5, 1e-5
run in lock-step on the same grid (within 1 % of central bump-and-resolve, tested).

Accuracy (measured, default GridSpec: 100 intervals in S, 25 steps a year): price within
0.03 % of face and delta within 1e-3 × ratio of a converged grid on a 100-bond book; vega,
rho, spread sensitivity within 1 %. Refine with GridSpec for tighter figures (second order).

QuantLib's `BinomialConvertibleEngine` (ql/methods/lattices/tflattice.hpp,
ql/pricingengines/bond/discretizedconvertible.cpp) is NOT this model: it rolls back ONE value
on a binomial tree, discounted at the blended rate p·r + (1 − p)(r + s), where p, the
"conversion probability", is itself rolled back as the probability-weighted mean of the
successor nodes' p (1 where converted) — the Goldman Sachs (1994) / Hull credit-adjusted
scheme — discounting simply, 1 / (1 + rate·dt). With s = 0 the two agree (measured within
0.022 % of face at the default grid, 0.015 % refined); with a spread they differ: 3-year
zero-coupon, ratio 8, S 100, σ 30 %, r 4 %, s 300 bp: TF 968.02, QuantLib 963.20, 0.48 % of
face below.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.pricing._convertible_grid import TABLE_ROWS
from app.pricing._convertible_reval import (
    EVENT_PASSED,
    FRESH,
    MARKET_MOVED,
    OUT_ROWS,
    SPOT_OUTSIDE_BAND,
    points_kernel,
    revalue_kernel,
    staleness_kernel,
)
from app.pricing._convertible_solve import solve_batch
from app.pricing.convertible_batch import DEFAULT_GRID, ConvertibleBatch, GridSpec, pack
from app.pricing.convertible_terms import TIME_EPS, ConvertibleTerms

__all__ = [
    "DEFAULT_GRID",
    "EVENT_PASSED",
    "FIGURE_NAMES",
    "FRESH",
    "MARKET_MOVED",
    "RESOLVE_REASONS",
    "SPOT_OUTSIDE_BAND",
    "ConvertibleBatch",
    "ConvertibleState",
    "ConvertibleTerms",
    "GridSpec",
    "convertible_figures",
    "extend_bonds",
    "needs_resolve",
    "needs_resolve_into",
    "pack",
    "replace_bonds",
    "revalue",
    "revalue_into",
    "revalue_points",
    "solve",
    "warm_up_convertible",
]

FIGURE_NAMES = ("price", "delta", "gamma", "vega", "theta", "rho", "credit_spread_sensitivity",
                "bond_floor", "conversion_value", "conversion_premium", "accrued")
#: needs_resolve code i means RESOLVE_REASONS[i].
RESOLVE_REASONS = ("fresh", "event_passed", "spot_outside_band", "market_moved")

_F64 = np.float64
# the per-bond arrays of a state (axis 0 is the bond)
_PER_BOND = ("spot", "vol", "rate", "div_yield", "credit_spread", "nodes", "grid_map", "table",
             "bond_floor", "accrued", "next_event", "barrier", "spot_low", "spot_high")


@dataclass(frozen=True, slots=True, eq=False)
class ConvertibleState:
    """A solve of a batch: per bond its grid and the figures at every node (at the solve's
    valuation time and market). Arrays are owned by the state; treat them as read-only.

    nodes: float64[n, N+1] stock prices; grid_map: float64[n, 4] (the grid's closed form);
    table: float64[n, 7, N+1] price, delta, gamma, vega, theta, rho, spread sensitivity per
    node; bond_floor, accrued, next_event (years to the first event: coupon, put, call period
    edge, dividend, maturity), barrier (the spot at and above which a call forces conversion
    now, 0 for none): float64[n]; spot_low/spot_high: the reuse band; the market the
    solve used (spot, vol, rate, div_yield, credit_spread: float64[n]; dividends).
    """

    batch: ConvertibleBatch
    grid: GridSpec
    spot: np.ndarray
    vol: np.ndarray
    rate: np.ndarray
    div_yield: np.ndarray
    credit_spread: np.ndarray
    dividends: tuple[tuple[float, float], ...]
    nodes: np.ndarray
    grid_map: np.ndarray
    table: np.ndarray
    bond_floor: np.ndarray
    accrued: np.ndarray
    next_event: np.ndarray
    barrier: np.ndarray
    spot_low: np.ndarray
    spot_high: np.ndarray
    _scratch: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.batch)


def _per_bond(value: Any, n: int, name: str, *, positive: bool = False,
              non_negative: bool = False) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=_F64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, got {value!r}") from None
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    elif arr.shape != (n,):
        raise ValueError(f"{name} must be a number or an array of shape ({n},), got {arr.shape}")
    else:
        arr = np.array(arr, dtype=_F64)  # owned copy: the state must not change under us
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    if positive and not (arr > 0.0).all():
        raise ValueError(f"{name} must be positive")
    if non_negative and not (arr >= 0.0).all():
        raise ValueError(f"{name} must be >= 0")
    return arr


def _float_or_per_bond(value: Any, n: int, name: str) -> float | np.ndarray:
    """A finite float (one value for every bond) or a validated float64[n]."""
    if np.ndim(value) == 0:
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be numeric, got {value!r}") from None
        if not math.isfinite(x):
            raise ValueError(f"{name} must be finite")
        return x
    return _per_bond(value, n, name)


def _dividends(dividends: Sequence[Sequence[float]]) -> tuple[tuple[float, float], ...]:
    out = []
    for i, d in enumerate(dividends):
        if len(d) != 2:
            raise ValueError(f"dividends[{i}] must be (t_ex, amount), got {d!r}")
        t, amount = float(d[0]), float(d[1])
        if not (math.isfinite(t) and math.isfinite(amount) and amount >= 0.0):
            raise ValueError(f"dividends[{i}] must be finite with amount >= 0, got {d!r}")
        if t > TIME_EPS and amount > 0.0:
            out.append((t, amount))
    return tuple(sorted(out))


def solve(batch: ConvertibleBatch, spot: Any, vol: Any, rate: Any, div_yield: Any = 0.0, *,
          credit_spread: Any = None, dividends: Sequence[Sequence[float]] = (),
          grid: GridSpec = DEFAULT_GRID) -> ConvertibleState:
    """Solve every bond of the batch at the current market.

    spot (> 0), vol (>= 0), rate, div_yield (continuous), credit_spread (>= 0; default: each
    bond's terms): floats or float64[n]. dividends: ((t_ex years, amount $ per share), ...)
    of the underlying, the spot (jump) model; past ones are ignored. ValueError naming the
    argument on bad input.
    """
    n = len(batch)
    s = _per_bond(spot, n, "spot", positive=True)
    v = _per_bond(vol, n, "vol", non_negative=True)
    r = _per_bond(rate, n, "rate")
    q = _per_bond(div_yield, n, "div_yield")
    sp = (batch.credit_spread.copy() if credit_spread is None
          else _per_bond(credit_spread, n, "credit_spread", non_negative=True))
    divs = _dividends(dividends)
    div_arr = np.array(divs, dtype=_F64).reshape(-1, 2)
    npts = grid.space_nodes + 1
    nodes = np.empty((n, npts))
    grid_map = np.empty((n, 4))
    table = np.empty((n, TABLE_ROWS, npts))
    floor = np.empty(n)
    accrued = np.empty(n)
    next_event = np.empty(n)
    barrier = np.empty(n)
    solve_batch(s, v, r, q, sp, batch.maturity, batch.redemption, batch.conversion_ratio,
                batch.coupon, batch.accrual_start, batch.coupon_times, batch.coupon_offsets,
                batch.call_from, batch.call_to, batch.call_price, batch.call_level,
                batch.call_offsets, batch.put_times, batch.put_price, batch.put_offsets,
                np.ascontiguousarray(div_arr[:, 0]), np.ascontiguousarray(div_arr[:, 1]),
                grid.space_nodes, float(grid.steps_per_year), grid.min_steps,
                float(grid.concentration), nodes, grid_map, table, floor, accrued, next_event,
                barrier)
    bad = ~np.isfinite(table).all(axis=(1, 2))
    if bad.any():  # per-bond numerical failure is data: NaN figures, never an exception
        table[bad] = np.nan
    band = math.exp(grid.reuse_band)
    return ConvertibleState(
        batch=batch, grid=grid, spot=s, vol=v, rate=r, div_yield=q, credit_spread=sp,
        dividends=divs, nodes=nodes, grid_map=grid_map, table=table, bond_floor=floor,
        accrued=accrued, next_event=next_event, barrier=barrier, spot_low=s / band,
        spot_high=s * band, _scratch=np.empty(7))


def revalue_into(state: ConvertibleState, spot: float | np.ndarray,
                 out: np.ndarray) -> np.ndarray:
    """Hot path: the figures at a new spot, no validation, no allocation; returns out.

    spot: a float (> 0), or float64[n]; out: float64[11, n], rows in FIGURE_NAMES order.
    Not thread-safe on one state (a scratch buffer of the state is used).
    """
    revalue_kernel(spot, state.nodes, state.grid_map, state.table, state.bond_floor,
                   state.accrued, state.batch.conversion_ratio, state.barrier, state._scratch,
                   out)
    return out


def revalue_points(state: ConvertibleState, bond: np.ndarray, spot: np.ndarray,
                   out: np.ndarray) -> np.ndarray:
    """Hot path, many spots on the same solves: out[:, p] = the figures of bond `bond[p]` at
    `spot[p]` (bond: int64[P] indices into the state, spot: float64[P] > 0, out:
    float64[11, P] in FIGURE_NAMES order). No validation; returns out."""
    points_kernel(bond, spot, state.nodes, state.grid_map, state.table, state.bond_floor,
                  state.accrued, state.batch.conversion_ratio, state.barrier, state._scratch,
                  out)
    return out


def replace_bonds(state: ConvertibleState, index: Sequence[int] | np.ndarray,
                  sub: ConvertibleState) -> ConvertibleState:
    """A new state: `state` with its bonds `index` replaced by the bonds of `sub`, in order —
    `sub` a solve of the same bonds (the same terms, rebuilt from a later valuation time, or
    another market). Neither input changes. Every figure of the result is per bond at that
    bond's own solve: the caller keeps each bond's valuation time (`needs_resolve` takes
    `t_elapsed` per bond). `batch` stays the first solve's (its ratios and faces, which a
    later solve of the same bonds shares)."""
    idx = np.asarray(index, dtype=np.int64)
    if idx.shape != (len(sub),):
        raise ValueError(f"index must name the {len(sub)} bonds of sub, got {idx.shape}")
    if state.nodes.shape[1:] != sub.nodes.shape[1:]:
        raise ValueError("sub must be solved on the same grid size as state")
    changed: dict[str, Any] = {}
    for name in _PER_BOND:
        arr = getattr(state, name).copy()
        arr[idx] = getattr(sub, name)
        changed[name] = arr
    return ConvertibleState(batch=state.batch, grid=state.grid, dividends=sub.dividends,
                            _scratch=np.empty(7), **changed)


def extend_bonds(state: ConvertibleState, sub: ConvertibleState,
                 batch: ConvertibleBatch) -> ConvertibleState:
    """A new state: the bonds of `state` followed by those of `sub` (new bonds of the same
    underlying, solved on the same grid size); `batch` packs all of them in that order (its
    ratios and faces serve the kernels). Neither input changes."""
    if len(batch) != len(state) + len(sub):
        raise ValueError(f"batch must hold the {len(state) + len(sub)} bonds, got {len(batch)}")
    if state.nodes.shape[1:] != sub.nodes.shape[1:]:
        raise ValueError("sub must be solved on the same grid size as state")
    joined = {name: np.concatenate([getattr(state, name), getattr(sub, name)])
              for name in _PER_BOND}
    return ConvertibleState(batch=batch, grid=state.grid, dividends=sub.dividends,
                            _scratch=np.empty(7), **joined)


def revalue(state: ConvertibleState, spot: Any) -> dict[str, np.ndarray]:
    """{name: float64[n]} for name in FIGURE_NAMES at `spot` (float or float64[n], > 0)."""
    n = len(state)
    s: float | np.ndarray
    if np.ndim(spot) == 0:
        s = float(spot)
        if not (0.0 < s < math.inf):
            raise ValueError(f"spot must be positive and finite, got {spot!r}")
    else:
        s = _per_bond(spot, n, "spot", positive=True)
    out = np.empty((OUT_ROWS, n))
    revalue_into(state, s, out)
    return dict(zip(FIGURE_NAMES, out, strict=True))


def needs_resolve(state: ConvertibleState, spot: Any, vol: Any, rate: Any,
                  div_yield: Any = 0.0, *, credit_spread: Any = None, t_elapsed: Any = 0.0,
                  price_tol: float = 1e-4, delta_tol: float = 1e-3) -> np.ndarray:
    """Per bond, int8: 0 (fresh: revalue the state) or why it should be re-solved.

    RESOLVE_REASONS[code]: "event_passed" (a coupon, put, call period edge, dividend or
    maturity falls within t_elapsed years of the solve), "spot_outside_band" (the spot left
    spot·exp(±grid.reuse_band)), "market_moved" (div_yield changed, or the first-order change
    the stored figures predict from the moves of vol, rate and credit_spread and from
    t_elapsed exceeds a tolerance: |vega dσ| + |rho dr| + |cs ds| + |theta dt| >
    price_tol × face, or the same with d/dS of those figures > delta_tol × conversion_ratio).
    Defaults: 1e-4 of face (0.1 on a 1,000 bond, inside the model's 0.05 % accuracy) and
    1e-3 of the ratio in delta. A change of the cash dividends is the caller's to notice.
    """
    n = len(state)
    spot_, vol_, rate_, q_, elapsed = (
        _float_or_per_bond(x, n, name) for x, name in (
            (spot, "spot"), (vol, "vol"), (rate, "rate"), (div_yield, "div_yield"),
            (t_elapsed, "t_elapsed")))
    sp = (state.credit_spread if credit_spread is None
          else _per_bond(credit_spread, n, "credit_spread"))
    batch = state.batch
    codes = np.empty(n, dtype=np.int8)
    staleness_kernel(spot_, vol_, rate_, q_, sp, elapsed, state.nodes, state.grid_map,
                     state.table, batch.conversion_ratio, state.barrier, state.vol,
                     state.rate, state.div_yield, state.credit_spread, state.spot_low,
                     state.spot_high, state.next_event, price_tol * batch.face,
                     delta_tol * batch.conversion_ratio, state._scratch, codes)
    return codes


def needs_resolve_into(state: ConvertibleState, spot: float, vol: float, rate: float,
                       div_yield: float, credit_spread: np.ndarray, t_elapsed: np.ndarray,
                       codes: np.ndarray, price_tol: float = 1e-4,
                       delta_tol: float = 1e-3) -> np.ndarray:
    """Hot path of `needs_resolve` (same codes and tolerances), no validation: spot, vol,
    rate, div_yield floats; credit_spread, t_elapsed float64[n]; codes int8[n] filled and
    returned."""
    batch = state.batch
    staleness_kernel(spot, vol, rate, div_yield, credit_spread, t_elapsed, state.nodes,
                     state.grid_map, state.table, batch.conversion_ratio, state.barrier,
                     state.vol, state.rate, state.div_yield, state.credit_spread,
                     state.spot_low, state.spot_high, state.next_event, price_tol * batch.face,
                     delta_tol * batch.conversion_ratio, state._scratch, codes)
    return codes


def convertible_figures(terms: ConvertibleTerms | Iterable[ConvertibleTerms], spot: Any,
                        vol: Any, rate: Any, div_yield: Any = 0.0, *,
                        credit_spread: Any = None,
                        dividends: Sequence[Sequence[float]] = (),
                        grid: GridSpec = DEFAULT_GRID) -> dict[str, np.ndarray]:
    """One-shot: pack, solve and revalue at the solve's spot. {name: float64[n]}."""
    batch = pack(terms)
    state = solve(batch, spot, vol, rate, div_yield, credit_spread=credit_spread,
                  dividends=dividends, grid=grid)
    n = len(batch)
    out = np.empty((OUT_ROWS, n))
    revalue_into(state, state.spot, out)
    return dict(zip(FIGURE_NAMES, out, strict=True))


def warm_up_convertible() -> None:
    """Compile (or load from numba's cache) every convertible kernel signature the service
    uses: solve, revalue with a float and an array spot and at many points, needs_resolve
    with one and with per-bond elapsed times."""
    terms = [ConvertibleTerms(conversion_ratio=8.0, maturity=1.0, coupon_rate=0.02,
                              call_schedule=((0.5, 1.0, 1000.0),), put_schedule=((0.5, 990.0),)),
             ConvertibleTerms(conversion_ratio=8.0, maturity=0.0)]
    state = solve(pack(terms), 100.0, 0.3, 0.03, 0.0, dividends=((0.25, 1.0),),
                  grid=GridSpec(space_nodes=16, min_steps=4))
    out = np.empty((OUT_ROWS, 2))
    revalue_into(state, 101.0, out)
    revalue_into(state, np.full(2, 101.0), out)
    revalue_points(state, np.zeros(2, dtype=np.int64), np.full(2, 101.0), out)
    needs_resolve(state, 101.0, 0.3, 0.03, 0.0, t_elapsed=0.001)
    needs_resolve(state, 101.0, 0.3, 0.03, 0.0, t_elapsed=np.full(2, 0.001))
