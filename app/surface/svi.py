"""Raw SVI and power-law SSVI smiles in total variance, their constraints and derivatives.

Raw SVI (Gatheral 2004), total implied variance w = σ_imp² T against k = ln(K / F):
    w(k) = a + b (ρ (k − m) + √((k − m)² + σ²))
    w'(k) = b (ρ + (k − m) / √((k − m)² + σ²)),   w''(k) = b σ² / ((k − m)² + σ²)^{3/2}
Constraints checked here (ValueError "field: reason" naming the parameter):
    b ≥ 0, |ρ| < 1, σ > 0, a + b σ √(1 − ρ²) ≥ 0   (the minimum of w is non-negative)
    b (1 + |ρ|) ≤ 2                               (Lee's moment bound, see below)
Lee's moment formula bounds the wings of any arbitrage-free smile: lim sup w(k) / |k| ≤ 2 as
|k| → ∞. SVI's wings are asymptotically linear with slopes b (1 + ρ) (right) and b (1 − ρ)
(left, downwards), so the bound is b (1 + |ρ|) ≤ 2. Because we parameterize total variance,
not variance, there is no 1/T factor (the "b (1 + |ρ|) ≤ 4 / T" of older notes is written for
variance and uses Rogers–Tehranchi's pointwise |∂w/∂k| ≤ 4; Lee's asymptotic 2 is tighter).
The fit enforces it, so the SVI formula itself is the extrapolation beyond the quoted strikes.

SSVI (Gatheral–Jacquier 2014), one surface from θ_T (the at-the-money total variance) and
three global numbers, with the "power law" of their eq. (4.5) - not the plain η θ^−γ, whose
θφ(θ) grows without bound:
    w(k, θ) = θ/2 (1 + ρ φ k + √((φ k + ρ)² + 1 − ρ²)),   φ(θ) = η θ^{−γ} (1 + θ)^{γ−1}
Free of butterfly arbitrage (their Thm 4.2: θφ(1 + |ρ|) < 4 and θφ²(1 + |ρ|) ≤ 4) when
η (1 + |ρ|) ≤ 2 and 0 ≤ γ ≤ 1/2, since θφ = η (θ/(1+θ))^{1−γ} < η and θφ² ≤ η²; free of
calendar arbitrage (their Thm 4.1) when θ_T is non-decreasing in T, since
∂_θ(θφ) = (1 − γ) φ / (1 + θ) lies in [0, φ]. An SSVI slice is a raw SVI slice (their
Lemma 3.2): a = θ(1 − ρ²)/2, b = θφ/2, ρ = ρ, m = −ρ/φ, σ = √(1 − ρ²)/φ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["LEE_BOUND", "SsviParams", "SviParams", "svi_derivatives", "svi_total_variance"]

#: Largest wing slope of total variance against log-moneyness (Lee's moment formula).
LEE_BOUND = 2.0


def _finite(value: float, field: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{field}: must be finite, got {value!r}")
    return x


@dataclass(frozen=True, slots=True)
class SviParams:
    """One raw SVI smile in total variance (see the module docstring)."""

    a: float
    b: float
    rho: float
    m: float
    sigma: float

    def validate(self, where: str = "") -> SviParams:
        """self, or ValueError "{where}{name}: reason" for the first violated constraint."""
        a = _finite(self.a, f"{where}a")
        b = _finite(self.b, f"{where}b")
        rho = _finite(self.rho, f"{where}rho")
        _finite(self.m, f"{where}m")
        sigma = _finite(self.sigma, f"{where}sigma")
        if b < 0.0:
            raise ValueError(f"{where}b: must be >= 0, got {b!r}")
        if abs(rho) >= 1.0:
            raise ValueError(f"{where}rho: |rho| must be < 1, got {rho!r}")
        if sigma <= 0.0:
            raise ValueError(f"{where}sigma: must be > 0, got {sigma!r}")
        floor = a + b * sigma * math.sqrt(1.0 - rho * rho)
        if floor < 0.0:
            raise ValueError(f"{where}a: a + b*sigma*sqrt(1 - rho^2) must be >= 0 (the smallest "
                             f"total variance), got {floor:.6g}")
        slope = b * (1.0 + abs(rho))
        if slope > LEE_BOUND * (1.0 + 1e-12):
            raise ValueError(f"{where}b: b*(1 + |rho|) must be <= 2 (Lee's moment bound on the "
                             f"wings of total variance), got {slope:.6g}")
        return self

    @property
    def min_total_variance(self) -> float:
        """a + b σ √(1 − ρ²): the lowest total variance of the smile."""
        return self.a + self.b * self.sigma * math.sqrt(max(0.0, 1.0 - self.rho * self.rho))

    @property
    def wing_slopes(self) -> tuple[float, float]:
        """(left, right) asymptotic slopes |dw/dk| of the wings: b (1 − ρ), b (1 + ρ)."""
        return self.b * (1.0 - self.rho), self.b * (1.0 + self.rho)

    def as_array(self) -> np.ndarray:
        """float64[5]: a, b, rho, m, sigma."""
        return np.array([self.a, self.b, self.rho, self.m, self.sigma])

    def total_variance(self, k: np.ndarray | float) -> np.ndarray:
        """w(k) for log-moneyness k (any shape)."""
        return svi_total_variance(self.as_array(), np.asarray(k, dtype=np.float64))


@dataclass(frozen=True, slots=True)
class SsviParams:
    """The global numbers of a power-law SSVI surface; θ_T is per expiry (see docstring)."""

    rho: float
    eta: float
    gamma: float

    def validate(self, where: str = "") -> SsviParams:
        """self, or ValueError naming the parameter that breaks the no-arbitrage inequalities."""
        rho = _finite(self.rho, f"{where}rho")
        eta = _finite(self.eta, f"{where}eta")
        gamma = _finite(self.gamma, f"{where}gamma")
        if abs(rho) >= 1.0:
            raise ValueError(f"{where}rho: |rho| must be < 1, got {rho!r}")
        if eta <= 0.0:
            raise ValueError(f"{where}eta: must be > 0, got {eta!r}")
        if eta * (1.0 + abs(rho)) > 2.0 * (1.0 + 1e-12):
            raise ValueError(f"{where}eta: eta*(1 + |rho|) must be <= 2 (no butterfly "
                             f"arbitrage), got {eta * (1.0 + abs(rho)):.6g}")
        if not 0.0 <= gamma <= 0.5:
            raise ValueError(f"{where}gamma: must be in [0, 0.5], got {gamma!r}")
        return self

    def phi(self, theta: np.ndarray | float) -> np.ndarray:
        """φ(θ) = η θ^−γ (1 + θ)^{γ−1}."""
        th = np.asarray(theta, dtype=np.float64)
        out: np.ndarray = self.eta * th ** (-self.gamma) * (1.0 + th) ** (self.gamma - 1.0)
        return out

    def slice_params(self, theta: float) -> SviParams:
        """The raw SVI parameters of the SSVI slice with at-the-money total variance θ."""
        phi = float(self.phi(theta))
        r = self.rho
        return SviParams(a=0.5 * theta * (1.0 - r * r), b=0.5 * theta * phi, rho=r,
                         m=-r / phi, sigma=math.sqrt(1.0 - r * r) / phi)

    def total_variance(self, k: np.ndarray | float, theta: float) -> np.ndarray:
        """w(k, θ) by the SSVI formula (equal to slice_params(θ).total_variance(k))."""
        kk = np.asarray(k, dtype=np.float64)
        phi = self.phi(theta)
        r = self.rho
        out: np.ndarray = 0.5 * theta * (1.0 + r * phi * kk
                                         + np.sqrt((phi * kk + r) ** 2 + 1.0 - r * r))
        return out


def svi_total_variance(params: np.ndarray, k: np.ndarray) -> np.ndarray:
    """w(k); params float64[..., 5] (a, b, rho, m, sigma) broadcasting against k."""
    p = np.asarray(params, dtype=np.float64)
    x = k - p[..., 3]
    out: np.ndarray = p[..., 0] + p[..., 1] * (p[..., 2] * x + np.sqrt(x * x + p[..., 4] ** 2))
    return out


def svi_derivatives(params: np.ndarray,
                    k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(w, dw/dk, d²w/dk²) of raw SVI; params float64[..., 5] broadcasting against k."""
    p = np.asarray(params, dtype=np.float64)
    a, b, rho, m, sigma = p[..., 0], p[..., 1], p[..., 2], p[..., 3], p[..., 4]
    x = k - m
    root = np.sqrt(x * x + sigma * sigma)
    w = a + b * (rho * x + root)
    wk = b * (rho + x / root)
    wkk = b * sigma * sigma / (root * root * root)
    return w, wk, wkk
