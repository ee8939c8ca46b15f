"""How the smile moves with spot (`stickiness`), and the smile-adjusted delta and gamma.

The surface was fitted at spot S0 (Surface.spot) with forwards F0(T). An option (K, T) at spot
S, whose forward is F(S) (affine in S: F = S e^{(r−q)T}, or (S − PV(dividends)) e^{rT}, or the
future itself), takes the vol
    "strike"     σ(K, T; S) = σ̂(ln(K / F0), T)       its vol stays put: ∂σ/∂S = ∂²σ/∂S² = 0
    "moneyness"  σ(K, T; S) = σ̂(ln(K / F(S)), T)     the smile moves with the forward
With k = ln(K/F(S)), k_S = −F_S / F and k_SS = (F_S / F)² (F affine), sticky moneyness gives
    ∂σ/∂S = −σ̂_k F_S / F,    ∂²σ/∂S² = (σ̂_kk + σ̂_k) (F_S / F)²      (exact, no approximation)
and the value V(S, σ(S)) has (Greeks per unit as app.pricing.greeks returns them)
    smile delta = delta + vega σ_S
    smile gamma = gamma + 2 vanna σ_S + volga σ_S² + vega σ_SS.
F0 for sticky strike is recovered from the option's forward now: F0 = F − F_S (S − S0), exact
for an affine forward; so both rules take the same arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.surface.surface import Surface, VegaBuckets

__all__ = ["STICKINESS", "SmileVols", "log_moneyness", "smile_delta_gamma", "smile_vols",
           "vega_buckets"]

STICKINESS = ("strike", "moneyness")
_F64 = np.dtype(np.float64)


@dataclass(frozen=True, slots=True, eq=False)
class SmileVols:
    """Per option float64[N]: the vol and its first and second derivatives in spot."""

    vol: np.ndarray
    dvol_dspot: np.ndarray
    d2vol_dspot2: np.ndarray


def _flat(x: Any, n: int) -> np.ndarray:
    arr = np.asarray(x, dtype=_F64)
    if arr.shape != (n,):
        arr = np.broadcast_to(arr, (n,))
    out: np.ndarray = np.ascontiguousarray(arr)
    return out


def log_moneyness(surface: Surface, strike: Any, forward: Any, spot: float,
                  stickiness: str = "moneyness",
                  dforward_dspot: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """(k, F_S / F) per option: k = ln(K / F) for "moneyness", ln(K / F0) for "strike".

    strike, forward (of each option's expiry at `spot`), dforward_dspot (∂F/∂S, default F /
    spot, i.e. a forward proportional to spot): float64[N] or scalars. ValueError naming
    `stickiness` or `spot` (sticky strike needs Surface.spot)."""
    if stickiness not in STICKINESS:
        raise ValueError(f"stickiness: must be one of {', '.join(STICKINESS)}, "
                         f"got {stickiness!r}")
    k_arr = np.atleast_1d(np.asarray(strike, dtype=_F64)).reshape(-1)
    n = k_arr.size
    f = _flat(forward, n)
    fs = f / spot if dforward_dspot is None else _flat(dforward_dspot, n)
    if stickiness == "moneyness":
        return np.log(k_arr / f), fs / f
    if surface.spot is None:
        raise ValueError("spot: sticky strike needs the spot at the fit (Surface.spot)")
    f0 = f - fs * (spot - surface.spot)
    return np.log(k_arr / f0), fs / f


def smile_vols(surface: Surface, strike: Any, t: Any, forward: Any, spot: float,
               stickiness: str = "moneyness", dforward_dspot: Any = None) -> SmileVols:
    """Vols of N options at `spot` under `stickiness`, with ∂σ/∂S and ∂²σ/∂S² (module
    docstring). t: years to expiry at the surface's as-of; other arguments as in
    log_moneyness. Vectorized: one kernel call over the N options."""
    k, fs_over_f = log_moneyness(surface, strike, forward, spot, stickiness, dforward_dspot)
    tt = _flat(t, k.size)
    vol, vk, vkk = surface.smile(k, tt)
    if stickiness == "strike":
        zero = np.zeros_like(vol)
        return SmileVols(vol, zero, zero.copy())
    return SmileVols(vol, -vk * fs_over_f, (vkk + vk) * fs_over_f * fs_over_f)


def smile_delta_gamma(delta: np.ndarray, gamma: np.ndarray, vega: np.ndarray,
                      vanna: np.ndarray, volga: np.ndarray,
                      smile: SmileVols) -> tuple[np.ndarray, np.ndarray]:
    """(smile delta, smile gamma) from Black-Scholes Greeks (per unit, vega/vanna/volga per
    1.00 vol, as app.pricing.greeks returns them) and the smile's spot derivatives."""
    s1 = smile.dvol_dspot
    d = delta + vega * s1
    g = gamma + 2.0 * vanna * s1 + volga * s1 * s1 + vega * smile.d2vol_dspot2
    return d, g


def vega_buckets(surface: Surface, strike: Any, t: Any, forward: Any, spot: float,
                 stickiness: str = "moneyness", dforward_dspot: Any = None) -> VegaBuckets:
    """Per option: the node expiries whose smile it reads and its dσ/dε for a parallel bump
    of each (Surface.vega_buckets at the k the stickiness gives). Bucketed vega of a book:
    `buckets.per_expiry(position_vega, len(surface.slices))`."""
    k, _ = log_moneyness(surface, strike, forward, spot, stickiness, dforward_dspot)
    return surface.vega_buckets(k, _flat(t, k.size))
