"""The surface: raw SVI smiles per expiry and the rule between and beyond them.

Times `t` are years to expiry measured at the surface's as-of (its fit), so an option on a
fitted expiry reads its own smile exactly; between refits the book keeps passing the t of
that moment (t_now + years elapsed since the fit). Log-moneyness is k = ln(K / F) with F the
forward of the option's own expiry.

In time, at fixed k (total variance w = σ² t):
- between node expiries T_i < t < T_i+1: linear in t, w = α w_i(k) + (1 − α) w_i+1(k). It is
  non-decreasing in t wherever the nodes are free of calendar arbitrage (w_i ≤ w_i+1, which
  every accepted surface satisfies); butterfly freedom is not implied by that of the nodes,
  so the checks also test the density mid-way between nodes.
- before the first node: w = (t / T_0) w_0(k), the first smile's vols. Calendar: increasing in
  t. Butterfly: the density of λ w is (1 − k w'/2w)² − λ w'²/4w − λ² w'²/16 + λ w''/2, concave
  in λ, so it is ≥ min(its value at λ = 0 (a square), at λ = 1 (the node's)) ≥ 0 on [0, 1].
- after the last node: w = w_E−1(k) + (t − T_E−1) θ / T_E−1 with θ = w_E−1(0): the at-the-money
  vol is held and the wings keep their shape. Non-decreasing in t; wing slopes unchanged, so
  Lee's bound holds; the density is checked at t = 2 T_E−1.
In strike the SVI formula itself is used beyond the quotes: its wings are asymptotically linear
in total variance with slopes b (1 ± ρ) ≤ 2 (Lee's moment bound, enforced; see svi.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from app.surface._eval_kernel import bucket_kernel, variance_kernel, vol_kernel
from app.surface.svi import SsviParams, SviParams

__all__ = ["MODELS", "Slice", "Surface", "VegaBuckets", "ssvi_surface", "surface_from_params",
           "vol_grid"]

MODELS = ("svi", "ssvi")
_F64 = np.dtype(np.float64)


def _vector(x: Any, n: int | None = None) -> np.ndarray:
    """x as a contiguous float64[N] (broadcast to n when given)."""
    arr = np.asarray(x, dtype=_F64)
    if n is not None and arr.shape != (n,):
        arr = np.broadcast_to(arr, (n,))
    out: np.ndarray = np.ascontiguousarray(arr.reshape(-1))
    return out if out.flags.writeable else out.copy()


@dataclass(frozen=True, slots=True)
class Slice:
    """One expiry's smile: years to expiry t (at the surface's as-of), the forward F it was
    fitted against (k = ln(K/F)), its raw SVI params, and an opaque label of the caller's
    (e.g. the expiry date) that is carried through."""

    t: float
    forward: float
    params: SviParams
    expiry: str | None = None

    def as_dict(self) -> dict[str, Any]:
        p = self.params
        return {"expiry": self.expiry, "t": self.t, "forward": self.forward, "a": p.a, "b": p.b,
                "rho": p.rho, "m": p.m, "sigma": p.sigma,
                "atm_vol": math.sqrt(max(float(p.total_variance(0.0)), 0.0) / self.t)}


@dataclass(frozen=True, slots=True, eq=False)
class VegaBuckets:
    """Per option (length N): the node smiles its vol is read from and dσ/dε for a parallel
    bump σ_i(k) → σ_i(k) + ε of each. An option on a node expiry has lower == upper and
    upper_weight 0; before the first / after the last node both point at that node."""

    lower: np.ndarray
    lower_weight: np.ndarray
    upper: np.ndarray
    upper_weight: np.ndarray

    def per_expiry(self, vega: np.ndarray, n_expiries: int) -> np.ndarray:
        """float64[E]: Σ over options of vega × weight per node expiry (vega in any unit,
        e.g. the position vega in $ per vol point)."""
        v = np.asarray(vega, dtype=_F64)
        out: np.ndarray = (np.bincount(self.lower, v * self.lower_weight, n_expiries)
                           + np.bincount(self.upper, v * self.upper_weight, n_expiries))
        return out


@dataclass(frozen=True, slots=True, eq=False)
class Surface:
    """An immutable volatility surface of one underlying (see the module docstring).

    slices: node smiles with strictly increasing t > 0; model: "svi" or "ssvi" (then `ssvi`
    holds the global SSVI numbers the slices came from); spot: the underlying's spot at the
    fit, needed only for sticky-strike dynamics. Structure is checked here (ValueError naming
    the field); the no-arbitrage constraints by `surface_from_params` / the fit.
    """

    slices: tuple[Slice, ...]
    model: str = "svi"
    ssvi: SsviParams | None = None
    spot: float | None = None
    _params: np.ndarray = field(init=False, repr=False)
    _times: np.ndarray = field(init=False, repr=False)
    _atm_rate: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model: must be one of {', '.join(MODELS)}, got {self.model!r}")
        if not self.slices:
            raise ValueError("expiries: a surface needs at least one expiry")
        if self.spot is not None and not (math.isfinite(self.spot) and self.spot > 0.0):
            raise ValueError(f"spot: must be positive and finite, got {self.spot!r}")
        last = 0.0
        for i, s in enumerate(self.slices):
            if not (math.isfinite(s.t) and s.t > last):
                raise ValueError(f"expiries[{i}].t: years to expiry must be finite, > 0 and "
                                 f"increasing, got {s.t!r} after {last!r}")
            if not (math.isfinite(s.forward) and s.forward > 0.0):
                raise ValueError(f"expiries[{i}].forward: must be positive and finite, "
                                 f"got {s.forward!r}")
            last = s.t
        params = np.array([s.params.as_array() for s in self.slices])
        params.flags.writeable = False
        times = np.array([s.t for s in self.slices])
        times.flags.writeable = False
        object.__setattr__(self, "_params", params)
        object.__setattr__(self, "_times", times)
        last_w0 = float(self.slices[-1].params.total_variance(0.0))
        object.__setattr__(self, "_atm_rate", max(last_w0, 0.0) / times[-1])

    # ------------------------------------------------------------------ reading the surface
    @property
    def times(self) -> np.ndarray:
        """float64[E]: the node expiries' t (read-only)."""
        return self._times

    @property
    def params(self) -> np.ndarray:
        """float64[E, 5]: a, b, rho, m, sigma per node (read-only)."""
        return self._params

    def total_variance(self, k: Any, t: Any) -> np.ndarray:
        """float64[3, N]: w, ∂w/∂k, ∂²w/∂k² at (k, t) (broadcast, flattened to N)."""
        kk, tt = np.broadcast_arrays(np.asarray(k, dtype=_F64), np.asarray(t, dtype=_F64))
        out = np.empty((3, kk.size))
        variance_kernel(self._params, self._times, self._atm_rate, _vector(kk), _vector(tt),
                        out)
        return out

    def smile(self, k: np.ndarray, t: np.ndarray) -> np.ndarray:
        """float64[3, N]: implied vol σ, ∂σ/∂k, ∂²σ/∂k² at log-moneyness k[N], years t[N].

        The hot path: k and t contiguous float64[N] (no validation, no broadcasting)."""
        out = np.empty((3, k.shape[0]))
        vol_kernel(self._params, self._times, self._atm_rate, k, t, out)
        return out

    def vols(self, strike: Any, t: Any, forward: Any) -> np.ndarray:
        """Implied vols of options (strike, t, forward of their expiry), broadcast, 1-D."""
        kk, tt, ff = np.broadcast_arrays(np.asarray(strike, dtype=_F64),
                                         np.asarray(t, dtype=_F64),
                                         np.asarray(forward, dtype=_F64))
        k = np.log(_vector(kk) / _vector(ff))
        vol: np.ndarray = self.smile(k, _vector(tt))[0]
        return vol

    def vega_buckets(self, k: Any, t: Any) -> VegaBuckets:
        """Which node smiles each option (k, t) reads and its dσ/dε per parallel vol bump ε
        of each (see VegaBuckets); weights sum to 1 on a flat surface."""
        kk, tt = np.broadcast_arrays(np.asarray(k, dtype=_F64), np.asarray(t, dtype=_F64))
        n = kk.size
        lower = np.empty(n, dtype=np.int64)
        upper = np.empty(n, dtype=np.int64)
        lw = np.empty(n)
        uw = np.empty(n)
        bucket_kernel(self._params, self._times, self._atm_rate, _vector(kk), _vector(tt),
                      lower, lw, upper, uw)
        return VegaBuckets(lower, lw, upper, uw)

    # --------------------------------------------------------------------- changing it
    def with_slice(self, new: Slice) -> Surface:
        """A new surface with `new` replacing the node of the same t (or inserted), e.g. after
        refitting one expiry; model "svi" (an SSVI surface with one slice replaced is no longer
        SSVI). ValueError when it breaks a constraint or crosses a neighbour (the calendar
        check of `surface_from_params`)."""
        from app.surface.checks import require_calendar

        new.params.validate("expiry.")
        kept = [s for s in self.slices if s.t != new.t]
        slices = tuple(sorted([*kept, new], key=lambda s: s.t))
        surface = Surface(slices, model="svi", spot=self.spot)
        require_calendar(surface, only=slices.index(new))
        return surface

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: {model, spot, ssvi?, expiries: [{expiry, t, forward, a, b, rho, m,
        sigma, atm_vol}]}."""
        out: dict[str, Any] = {"model": self.model, "spot": self.spot,
                               "expiries": [s.as_dict() for s in self.slices]}
        if self.ssvi is not None:
            out["ssvi"] = {"rho": self.ssvi.rho, "eta": self.ssvi.eta, "gamma": self.ssvi.gamma,
                           "theta": [float(s.params.total_variance(0.0)) for s in self.slices]}
        return out


def _number(item: Mapping[str, Any], name: str, where: str) -> float:
    if name not in item:
        raise ValueError(f"{where}{name}: missing")
    value = item[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}{name}: must be a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{where}{name}: must be finite, got {value!r}")
    return x


def surface_from_params(expiries: Sequence[Mapping[str, Any]], spot: float | None = None,
                        ) -> Surface:
    """A desk's own surface: raw SVI params per expiry, validated.

    expiries: [{t, forward, a, b, rho, m, sigma, expiry?}] in any order (t in years at the
    surface's as-of; `expiry` an optional label). Raises ValueError "expiries[i].name: reason"
    for b < 0, |rho| >= 1, sigma <= 0, a + b sigma sqrt(1 - rho^2) < 0, b (1 + |rho|) > 2,
    a missing or non-finite number, a repeated t, or "expiries[i]: calendar arbitrage ..."
    when its total variance falls below that of the previous expiry at some k.
    """
    from app.surface.checks import require_calendar

    indexed = []
    for i, item in enumerate(expiries):
        where = f"expiries[{i}]."
        params = SviParams(*(_number(item, n, where) for n in ("a", "b", "rho", "m", "sigma")))
        params.validate(where)
        t = _number(item, "t", where)
        if t <= 0.0:
            raise ValueError(f"{where}t: years to expiry must be > 0, got {t!r}")
        forward = _number(item, "forward", where)
        if forward <= 0.0:
            raise ValueError(f"{where}forward: must be > 0, got {forward!r}")
        label = item.get("expiry")
        indexed.append((t, i, Slice(t, forward, params, None if label is None else str(label))))
    indexed.sort(key=lambda x: x[0])
    for (t0, i0, _), (t1, i1, _) in pairwise(indexed):
        if t1 == t0:
            raise ValueError(f"expiries[{i1}].t: the same expiry as expiries[{i0}]")
    surface = Surface(tuple(s for _, _, s in indexed), model="svi", spot=spot)
    require_calendar(surface, names=[f"expiries[{i}]" for _, i, _ in indexed])
    return surface


def ssvi_surface(params: SsviParams, t: Sequence[float], theta: Sequence[float],
                 forward: Sequence[float], expiry: Sequence[str | None] | None = None,
                 spot: float | None = None) -> Surface:
    """The SSVI surface of `params` with ATM total variance theta[i] at t[i] (increasing t),
    as raw SVI node slices. ValueError naming the parameter when η(1+|ρ|) > 2, γ ∉ [0, 1/2],
    |ρ| ≥ 1, or θ is not positive and non-decreasing in t (calendar arbitrage)."""
    params.validate("ssvi.")
    labels = list(expiry) if expiry is not None else [None] * len(t)
    slices = []
    last = 0.0
    for i, (ti, th, fi, lab) in enumerate(zip(t, theta, forward, labels, strict=True)):
        if not (math.isfinite(th) and th > 0.0):
            raise ValueError(f"ssvi.theta[{i}]: must be positive and finite, got {th!r}")
        if th < last:
            raise ValueError(f"ssvi.theta[{i}]: must not decrease with t (calendar "
                             f"arbitrage), got {th!r} after {last!r}")
        last = th
        slices.append(Slice(float(ti), float(fi), params.slice_params(float(th)), lab))
    return Surface(tuple(slices), model="ssvi", ssvi=params, spot=spot)


def vol_grid(surface: Surface, strikes: Any, t: Any, forward: Any) -> np.ndarray:
    """float64[E, K]: vols for a dashboard, rows per expiry t[E] (years at the surface's
    as-of) with its forward[E], columns per strike[K]. ValueError naming the argument for
    non-positive or non-finite strikes/forwards, or forwards not matching the expiries."""
    k_arr = np.atleast_1d(np.asarray(strikes, dtype=_F64)).reshape(-1)
    t_arr = np.atleast_1d(np.asarray(t, dtype=_F64)).reshape(-1)
    f_arr = np.atleast_1d(np.asarray(forward, dtype=_F64)).reshape(-1)
    if f_arr.size == 1:
        f_arr = np.full(t_arr.size, f_arr[0])
    for name, arr in (("strikes", k_arr), ("forward", f_arr)):
        if not np.all(np.isfinite(arr) & (arr > 0.0)):
            raise ValueError(f"{name}: must be positive and finite")
    if not np.all(np.isfinite(t_arr)):
        raise ValueError("expiries: must be finite (years)")
    if f_arr.size != t_arr.size:
        raise ValueError(f"forward: one per expiry ({t_arr.size}), got {f_arr.size}")
    k = np.log(k_arr[None, :] / f_arr[:, None])
    tt = np.broadcast_to(t_arr[:, None], k.shape)
    vol: np.ndarray = surface.smile(np.ascontiguousarray(k).reshape(-1),
                                    np.ascontiguousarray(tt).reshape(-1))[0]
    return vol.reshape(k.shape)
