"""Cached exercise boundaries of American options: what the book keeps between ticks.

An American option's early-exercise boundary B(u) (u = time to expiry) depends only on
(call/put, σ, r, q, model): not on spot, and for Black–Scholes–Merton it scales with the
strike (B = K·b(u; σ, r, q)), and as a function of u it does not depend on the option's own
maturity. One solve up to a horizon t_max therefore serves every strike and every expiry
<= t_max of that (call/put, σ, r, q, model), and a tick that moves only spot, or moves the
clock by seconds, reuses it.

`AmericanBoundaries` holds them as plain arrays ("panels"). A panel covers one (call/put,
rate, dividend yield, model, t_max) and a vol interval: its boundary (Chebyshev series of
H = ln(b/X)² in √(u/t_max), see _boundary_kernel.py) is solved at a few vols (slots) and
interpolated in ln σ for any vol inside, which also gives ∂B/∂σ and ∂²B/∂σ² for vega and
volga; each slot also carries its boundary re-solved at r ± h (h = 1e-4, or 5 % of a put-form
rate below 2e-3; Black-76: the rate and the carry move together), which the kernel
differences at each quadrature node for rho. Two kinds of panels:
- "family": the aligned vol octave [2^k, 2^(k+1)) with PANEL_NODES Chebyshev nodes in ln σ
  (3·PANEL_NODES solves, ~1e-9 × strike of price error from the interpolation): a book's
  options keep their panel while their implied vols move within the octave, so a vol tick
  costs no solve either;
- "exact": nodes σ·e^{±EXACT_STEP} and σ (5 solves: the rate bumps only at σ), for one-off
  pricing of distinct vols (the one-call API uses them up to FAMILY_THRESHOLD distinct vols
  per (call/put, r, q), octaves beyond).

For ticks that move only spot and the clock, `american.american_prepare` goes one step
further and evaluates these boundaries at each option's quadrature nodes once
(`AmericanNodes`, about 1.2 kB per option with a premium), valid for a spot band and an age
it states per option; a tick then costs the integrand alone.

Recompute (call `american_boundaries` again, with `reuse=` to keep what still fits) when:
the rate or the dividend yield changes (a stale panel gives NaN figures, never silent
mispricing: the kernel checks rate and yield exactly, t <= t_max and vol within the panel);
an option's vol leaves its panel (family: its octave); an option's time to expiry exceeds
t_max (a new listing). Time passing needs nothing: B(u) is valid for every u <= t_max.
Accuracy caveat: with CHEBYSHEV_NODES = 32 the boundary's √u-ln u behaviour near expiry is
resolved to ~1e-7 × strike of price for options down to a day when t_max is 3 years;
a much shorter option priced from a much longer horizon (t << t_max, e.g. an hour against
3 years) loses accuracy near its boundary — pass a t_max close to the book's longest expiry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.pricing._american_kernel import PF_COLUMNS, PI_COLUMNS, PI_FIRST_SLOT
from app.pricing._boundary_kernel import (
    REGIME_EARLY,
    REGIME_EUROPEAN,
    cosine_table,
    solve_put_boundaries,
)

__all__ = ["CHEBYSHEV_NODES", "PANEL_NODES", "AmericanBoundaries", "american_boundaries",
           "family_octave", "group_max", "group_rows"]

#: Chebyshev degree of the boundary in √(u / t_max) (n + 1 Lobatto nodes).
CHEBYSHEV_NODES = 32
#: Gauss–Legendre points per half of each fixed-point integral, and fixed-point steps.
FIXED_POINT_POINTS = 12
FIXED_POINT_STEPS = 8
#: Vol nodes of a family panel (one octave in σ) and the step of an exact panel (in ln σ).
PANEL_NODES = 8
EXACT_STEP = 1e-3
#: Rate bump for ∂B/∂r (5 % of the put-form rate when that is below 2e-3).
RATE_BUMP = 1e-4
#: Above this 2r/σ² (put form) the density form of the fixed point (ALO "FP-A") can diverge;
#: the cumulative form (FP-B), slower but always contracting, is used instead.
DENSITY_FORM_LIMIT = 8.0

_GL_X, _GL_W = np.polynomial.legendre.leggauss(FIXED_POINT_POINTS)
_COS: dict[int, np.ndarray] = {}


def _cos_table(n: int) -> np.ndarray:
    if n not in _COS:
        _COS[n] = cosine_table(n)
    return _COS[n]


def group_rows(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group equal rows of float64[N] columns: (index of each group's first row, group of
    each row). A lexsort of plain columns: np.unique(axis=0) sorts structured rows and is
    ~30x slower at 100,000 rows."""
    n = columns[0].shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort(columns[::-1])
    new = np.zeros(n, dtype=np.bool_)
    new[0] = True
    for col in columns:
        ordered = col[order]
        new[1:] |= ordered[1:] != ordered[:-1]
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return order[new], inverse


def group_max(inverse: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The largest value per group (groups from group_rows)."""
    out = np.full(int(inverse.max()) + 1 if inverse.size else 0, -np.inf)
    np.maximum.at(out, inverse, values)
    return out


def family_octave(vol: np.ndarray) -> np.ndarray:
    """The family panel (octave k: 2^k <= σ < 2^(k+1)) of each vol, int64."""
    with np.errstate(divide="ignore"):
        k = np.floor(np.log2(vol))
    return np.where(np.isfinite(k), k, np.iinfo(np.int64).min).astype(np.int64)


@dataclass(frozen=True, slots=True)
class AmericanBoundaries:
    """Solved boundaries as arrays (read by the numba kernel; treat as immutable).

    panels_f: float64[P, 6]  (ln σ_lo, ln σ_hi, rate, div_yield, t_max, ln X of the put form)
    panels_i: int64[P, 5]    (is_call, black76, regime, first slot, number of vol nodes)
    slot_log_vol: float64[S] ln σ of each slot (the vol nodes of the panels, contiguous)
    h_coef: float64[S, n+1]  Chebyshev coefficients of H (put form)
    hb_coef: float64[S, 2, n+1]  of H at the option's rate + h_up and - h_down (Black-76:
                     rate and carry move together; put form)
    slot_bump: float64[S, 3]  (ln X up, ln X down, 1/(h_up + h_down)); 0 for 1/(...) when the
                     panel has no rho
    keys: panel key -> panel index (for `reuse` and `panel_of`).
    """

    panels_f: np.ndarray
    panels_i: np.ndarray
    slot_log_vol: np.ndarray
    h_coef: np.ndarray
    hb_coef: np.ndarray
    slot_bump: np.ndarray
    keys: dict[tuple[Any, ...], int] = field(default_factory=dict)

    @property
    def chebyshev_nodes(self) -> int:
        return int(self.h_coef.shape[1] - 1)

    def __len__(self) -> int:
        return int(self.panels_i.shape[0])


def _put_form(call: bool, r: float, q: float) -> tuple[float, float]:
    return (q, r) if call else (r, q)


#: A put-form rate below this is no reason to exercise early: the premium it could earn is
#: under rp × K × t, below 1e-19 × K, while the boundary solve of rates far below it (1e-60)
#: loses its logarithms to underflow and priced an American put below the European one.
MIN_EARLY_RATE = 1e-20


def _regime(rp: float, qp: float) -> int:
    """REGIME_* of a put with rate rp and dividend yield qp (a call: rp = q, qp = r)."""
    if 0.0 < rp < MIN_EARLY_RATE:
        rp = 0.0
    if rp > 0.0 or (rp == 0.0 and qp < 0.0):
        return REGIME_EARLY
    if qp >= rp:
        return REGIME_EUROPEAN
    return 2  # two boundaries


def _bumped(call: bool, black76: bool, r: float, q: float, h: float) -> tuple[float, float]:
    """Put-form rates after moving the option's rate by h (Black-76: the carry moves too)."""
    r2, q2 = r + h, (q + h if black76 else q)
    return _put_form(call, r2, q2)


def _log_x(rp: float, qp: float) -> float:
    return math.log(rp / qp) if qp > rp else 0.0  # X = min(1, r/q), r > 0 here


def american_boundaries(is_call: Any, vol: Any, rate: Any, div_yield: Any = 0.0,
                        black76: bool = False, t_max: Any = 1.0, *, exact: bool = False,
                        reuse: AmericanBoundaries | None = None,
                        chebyshev_nodes: int = CHEBYSHEV_NODES, with_rho: bool = True
                        ) -> tuple[AmericanBoundaries, np.ndarray]:
    """Solve (or reuse) the boundaries a set of options needs; returns (state, panel).

    is_call: bool[N]; vol: float64[N] (> 0); rate, div_yield: floats or float64[N] (Black-76:
    div_yield ignored); t_max: float or float64[N], the horizon each option's panel covers
    (>= its time to expiry; a book passes one horizon, e.g. its longest expiry). exact:
    "exact" panels at each distinct vol instead of octave families. reuse: an earlier state
    whose panels are kept (and not solved again) when they fit. panel: int64[N], each
    option's panel index, to pass to `american_greeks_into` with the state. with_rho=False
    skips the two rate-bumped solves per slot (rho is then 0): enough for implied vols.
    Inputs are not validated here (the book validates them at the edge).
    """
    call = np.ascontiguousarray(is_call, dtype=np.bool_).reshape(-1)
    n_opt = call.shape[0]
    v = np.broadcast_to(np.asarray(vol, dtype=np.float64), (n_opt,))
    r = np.broadcast_to(np.asarray(rate, dtype=np.float64), (n_opt,))
    q = r if black76 else np.broadcast_to(np.asarray(div_yield, dtype=np.float64), (n_opt,))
    tm = np.broadcast_to(np.asarray(t_max, dtype=np.float64), (n_opt,))
    if reuse is not None and reuse.chebyshev_nodes != chebyshev_nodes:
        reuse = None
    # Panel key per option: exact vol or octave; one Python key per distinct row.
    vol_key = v if exact else family_octave(v).astype(np.float64)
    firsts, inverse = group_rows(call.astype(np.float64), r, q, tm, vol_key)
    keys = [(bool(call[i]), bool(black76), float(r[i]), float(q[i]), float(tm[i]), bool(exact),
             float(vol_key[i]), with_rho) for i in firsts]
    old = reuse.keys if reuse is not None else {}
    new_keys = [key for key in keys if key not in old]
    built = _build(new_keys, chebyshev_nodes)
    state = _merge(reuse, new_keys, built, chebyshev_nodes)
    lookup = np.array([state.keys[key] for key in keys], dtype=np.int64)
    return state, lookup[inverse]


def _panel_nodes(exact: bool, vol_key: float) -> tuple[np.ndarray, float, float]:
    """(ln σ nodes, ln σ_lo, ln σ_hi) of a panel."""
    if exact:
        c = math.log(vol_key)
        return np.array([c - EXACT_STEP, c, c + EXACT_STEP]), c, c
    lo, hi = vol_key * math.log(2.0), (vol_key + 1.0) * math.log(2.0)
    j = np.arange(PANEL_NODES)
    x = np.cos((2 * j + 1) * np.pi / (2 * PANEL_NODES))
    return 0.5 * (lo + hi) + 0.5 * (hi - lo) * x, lo, hi


def _build(keys: list[tuple[Any, ...]], n: int) -> dict[str, np.ndarray]:
    """Solve every slot of the new panels in one kernel call and assemble their arrays."""
    panels_f = np.zeros((len(keys), PF_COLUMNS))
    panels_i = np.zeros((len(keys), PI_COLUMNS), dtype=np.int64)
    slot_lv: list[np.ndarray] = []
    # Solves: (rp, qp, σ, t_max, cumulative); per early slot the index of its centre solve
    # and of its up / down rate bumps (-1 when not solved: no rho, or the bump would leave
    # the one-boundary regime, then the centre stands in and the difference is one-sided).
    solves: list[tuple[float, float, float, float, bool]] = []
    slot_solves: list[tuple[int, int, int, int]] = []  # (slot, centre, up, down)
    slot_step: list[float] = []  # the rate bump of each early slot
    first = 0
    for i, (call, black76, r, q, t_max, exact, vol_key, with_rho) in enumerate(keys):
        nodes, lo, hi = _panel_nodes(exact, vol_key)
        rp, qp = _put_form(call, r, q)
        regime = _regime(rp, qp)
        panels_f[i] = (lo, hi, r, q, t_max, _log_x(rp, qp) if regime == REGIME_EARLY else 0.0)
        panels_i[i] = (int(call), int(black76), regime, first, len(nodes))
        slot_lv.append(nodes)
        if regime == REGIME_EARLY:
            cumulative = 2.0 * rp / math.exp(2.0 * float(np.min(nodes))) >= DENSITY_FORM_LIMIT
            # The premium vanishes at a put-form rate of 0 with curvature on the scale of
            # that rate: bumps that move it stay well inside.
            h = RATE_BUMP
            if (black76 or not call) and rp > 0.0:
                h = min(h, 0.05 * rp)
            up = _bumped(call, black76, r, q, h)
            dn = _bumped(call, black76, r, q, -h)
            use_up = with_rho and _regime(*up) == REGIME_EARLY
            use_dn = with_rho and _regime(*dn) == REGIME_EARLY
            # An exact panel is only ever read at its middle vol: the side slots (there for
            # the vol derivatives) share the middle slot's rate-bumped boundaries.
            order = [1, 0, 2] if exact else list(range(len(nodes)))
            i_up = i_dn = -1
            for j in order:
                sig = math.exp(nodes[j])
                centre = len(solves)
                solves.append((rp, qp, sig, t_max, cumulative))
                if not exact or j == 1:
                    i_up = i_dn = -1
                    if use_up:
                        i_up = len(solves)
                        solves.append((*up, sig, t_max, cumulative))
                    if use_dn:
                        i_dn = len(solves)
                        solves.append((*dn, sig, t_max, cumulative))
                slot_solves.append((first + j, centre, i_up, i_dn))
                slot_step.append(h)
        first += len(nodes)
    n_slots = first
    slot_bump = np.zeros((n_slots, 3))
    h_coef = np.zeros((n_slots, n + 1))
    hb_coef = np.zeros((n_slots, 2, n + 1))
    if solves:
        arr = np.array([s[:4] for s in solves])
        cum = np.array([s[4] for s in solves], dtype=np.bool_)
        values = np.empty((len(solves), n + 1))
        coef = np.empty((len(solves), n + 1))
        solve_put_boundaries(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], n, FIXED_POINT_STEPS,
                             _GL_X, _GL_W, _cos_table(n), values, coef, cum)
        log_x = np.array([_log_x(rp, qp) for rp, qp in arr[:, :2]])
        table = np.array(slot_solves, dtype=np.int64)
        slots, centres, ups, downs = table[:, 0], table[:, 1], table[:, 2], table[:, 3]
        h_coef[slots] = coef[centres]
        # The rate-bumped boundaries themselves (the kernel differences ln B at each point);
        # a bump that would leave the one-boundary regime is replaced by the centre.
        up_i = np.where(ups >= 0, ups, centres)
        dn_i = np.where(downs >= 0, downs, centres)
        denom = np.array(slot_step) * (np.where(ups >= 0, 1.0, 0.0)
                                       + np.where(downs >= 0, 1.0, 0.0))
        hb_coef[slots, 0] = coef[up_i]
        hb_coef[slots, 1] = coef[dn_i]
        slot_bump[slots, 0] = log_x[up_i]
        slot_bump[slots, 1] = log_x[dn_i]
        slot_bump[slots, 2] = np.where(denom > 0.0, 1.0 / np.maximum(denom, 1e-300), 0.0)
    return {"panels_f": panels_f, "panels_i": panels_i,
            "slot_log_vol": np.concatenate(slot_lv) if slot_lv else np.zeros(0),
            "h_coef": h_coef, "hb_coef": hb_coef, "slot_bump": slot_bump}


def _merge(old: AmericanBoundaries | None, keys: list[tuple[Any, ...]],
           built: dict[str, np.ndarray], n: int) -> AmericanBoundaries:
    if old is None or len(old) == 0:
        return AmericanBoundaries(built["panels_f"], built["panels_i"], built["slot_log_vol"],
                                  built["h_coef"], built["hb_coef"], built["slot_bump"],
                                  {key: i for i, key in enumerate(keys)})
    if not keys:
        return old
    offset = old.slot_log_vol.shape[0]
    pi = built["panels_i"].copy()
    pi[:, PI_FIRST_SLOT] += offset
    merged = dict(old.keys)
    for i, key in enumerate(keys):
        merged[key] = len(old) + i
    return AmericanBoundaries(
        np.concatenate([old.panels_f, built["panels_f"]]),
        np.concatenate([old.panels_i, pi]),
        np.concatenate([old.slot_log_vol, built["slot_log_vol"]]),
        np.concatenate([old.h_coef, built["h_coef"]]),
        np.concatenate([old.hb_coef, built["hb_coef"]]),
        np.concatenate([old.slot_bump, built["slot_bump"]]),
        merged)

