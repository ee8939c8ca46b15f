"""Fit of a power-law SSVI surface (svi.py) to quotes of every expiry at once.

Unknowns: ρ, u, γ and θ_0, δ_1, …, δ_E−1 with η = 2u / (1 + |ρ|) and θ_e = θ_0 + Σ_{j≤e} δ_j.
The box u ∈ (0, 1], γ ∈ [0, 1/2], |ρ| ≤ 0.999, θ_0 > 0, δ ≥ 0 is exactly the set where the
no-arbitrage inequalities hold (η(1+|ρ|) ≤ 2, θ non-decreasing), so scipy's bounded
trust-region least squares enforces them during the fit; the Jacobian is analytic.
Residuals are approximately weighted vol errors: √ω (w − w_quote) / (2 σ_quote t).
The start: per expiry a weighted quadratic in k gives θ, ∂w/∂k = θρφ and ∂²w/∂k² = θφ²(1−ρ²)/2
at the money, hence ρ and φ; medians across expiries start ρ and η (γ starts at 1/4).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from app.surface.svi import SsviParams

__all__ = ["fit_ssvi"]

_RHO_MAX = 0.999


def _model(p: np.ndarray, k: np.ndarray, e: np.ndarray,
           jac: bool) -> tuple[np.ndarray, np.ndarray | None]:
    rho, u, gamma = p[0], p[1], p[2]
    thetas = np.cumsum(p[3:])
    theta = thetas[e]
    eta = 2.0 * u / (1.0 + abs(rho))
    phi = eta * theta ** (-gamma) * (1.0 + theta) ** (gamma - 1.0)
    root = np.sqrt((phi * k + rho) ** 2 + 1.0 - rho * rho)
    w = 0.5 * theta * (1.0 + rho * phi * k + root)
    if not jac:
        return w, None
    w_rho = 0.5 * theta * (phi * k + phi * k / root)
    w_phi = 0.5 * theta * (rho * k + (phi * k + rho) * k / root)
    phi_eta = phi / eta
    eta_rho = -eta * np.sign(rho) / (1.0 + abs(rho))
    w_theta = w / theta + w_phi * phi * (-gamma / theta + (gamma - 1.0) / (1.0 + theta))
    j = np.empty((k.size, p.size))
    j[:, 0] = w_rho + w_phi * phi_eta * eta_rho
    j[:, 1] = w_phi * phi_eta * 2.0 / (1.0 + abs(rho))
    j[:, 2] = w_phi * phi * np.log1p(1.0 / theta)
    for col in range(3, p.size):
        j[:, col] = np.where(e >= col - 3, w_theta, 0.0)
    return w, j


def _start(k: np.ndarray, w: np.ndarray, e: np.ndarray, wt: np.ndarray,
           n_exp: int) -> np.ndarray:
    thetas, rhos, etas = [], [], []
    for i in range(n_exp):
        g = e == i
        kk, ww = k[g], w[g]
        if g.sum() >= 3:
            c2, c1, c0 = np.polyfit(kk, ww, 2, w=np.sqrt(wt[g]))
        else:
            c2, c1, c0 = 0.0, 0.0, float(np.interp(0.0, np.sort(kk), ww[np.argsort(kk)]))
        theta = max(float(c0), 1e-6)
        phi = np.sqrt((c1 / theta) ** 2 + max(4.0 * c2 / theta, 0.0))
        thetas.append(theta)
        if phi > 0:
            rhos.append(np.clip(c1 / (theta * phi), -0.9, 0.9))
            etas.append(phi * theta ** 0.25 * (1.0 + theta) ** 0.75)
    theta_up = np.maximum.accumulate(np.array(thetas))
    rho0 = float(np.median(rhos)) if rhos else 0.0
    u0 = float(np.clip(np.median(etas) * (1.0 + abs(rho0)) / 2.0, 0.05, 0.95)) if etas else 0.5
    return np.concatenate([[rho0, u0, 0.25, theta_up[0]], np.diff(theta_up)])


def fit_ssvi(k: np.ndarray, iv: np.ndarray, t: np.ndarray, weight: np.ndarray,
             expiry_index: np.ndarray,
             n_expiries: int) -> tuple[SsviParams, np.ndarray, float]:
    """Fit SSVI to quotes (all float64[N]: log-moneyness, vol, years, weight ω; expiry_index
    int[N] in 0..n_expiries−1 ordered by t). Returns (params, θ per expiry float64[E],
    weighted RMS of the residuals ≈ vol)."""
    w_obs = iv * iv * t
    scale = np.sqrt(weight) / (2.0 * iv * t)
    e = np.asarray(expiry_index, dtype=np.int64)

    def residuals(p: np.ndarray) -> np.ndarray:
        out: np.ndarray = scale * (_model(p, k, e, jac=False)[0] - w_obs)
        return out

    def jacobian(p: np.ndarray) -> np.ndarray:
        j = _model(p, k, e, jac=True)[1]
        assert j is not None
        out: np.ndarray = scale[:, None] * j
        return out

    x0 = _start(k, w_obs, e, weight, n_expiries)
    lower = np.concatenate([[-_RHO_MAX, 1e-4, 0.0, 1e-10], np.zeros(n_expiries - 1)])
    upper = np.concatenate([[_RHO_MAX, 1.0, 0.5, np.inf], np.full(n_expiries - 1, np.inf)])
    x0 = np.clip(x0, lower, np.where(np.isfinite(upper), upper, x0))
    x0[0] = x0[0] if x0[0] != 0.0 else 1e-6  # |ρ| has no derivative at 0
    sol = least_squares(residuals, x0, jac=jacobian, bounds=(lower, upper), method="trf",
                        x_scale="jac", ftol=1e-12, xtol=1e-12, gtol=1e-12, max_nfev=200)
    p = sol.x
    rho, u, gamma = float(p[0]), float(p[1]), float(p[2])
    params = SsviParams(rho=rho, eta=2.0 * u / (1.0 + abs(rho)), gamma=gamma)
    rms = float(np.sqrt(np.sum(sol.fun ** 2) / max(np.sum(weight), 1e-300)))
    return params, np.cumsum(p[3:]), rms
