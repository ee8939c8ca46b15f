"""A typical equity-index surface and quotes on it: for demos, benches, tests and the README.

`sample_surface()` is an SSVI surface (ρ = −0.7, η = 1.1, γ = 0.4: a steep put skew) with
at-the-money vols from 22 % (1 week) down to 18 % (2 years), as raw SVI node slices.
`sample_quotes(surface, ...)` quotes 41 out-of-the-money options per expiry (puts below the
forward, calls at and above) around that smile, with bid/ask spreads and optional seeded
multiplicative noise on the vols.
"""

from __future__ import annotations

import numpy as np

from app.pricing import greeks
from app.surface.quotes import Quotes
from app.surface.surface import Surface, ssvi_surface
from app.surface.svi import SsviParams

__all__ = ["SAMPLE_TIMES", "sample_quotes", "sample_surface"]

SAMPLE_TIMES = (7 / 365, 1 / 12, 2 / 12, 0.25, 0.5, 0.75, 1.0, 2.0)


def sample_surface(spot: float = 100.0, rate: float = 0.03, div_yield: float = 0.01,
                   times: tuple[float, ...] = SAMPLE_TIMES) -> Surface:
    """The sample SSVI surface at `spot` (forwards S e^{(r−q)t})."""
    t = np.asarray(times, dtype=np.float64)
    atm = 0.18 + 0.04 * np.exp(-2.0 * t)
    theta = atm * atm * t
    forward = spot * np.exp((rate - div_yield) * t)
    return ssvi_surface(SsviParams(rho=-0.7, eta=1.1, gamma=0.4), list(t), list(theta),
                        list(forward), spot=spot)


def sample_quotes(surface: Surface, rate: float = 0.03, n_strikes: int = 41,
                  noise: float = 0.0, seed: int = 0, spread_vol: float = 0.005) -> Quotes:
    """n_strikes quotes per node expiry of `surface`, k from −3.5 to +2 at-the-money standard
    deviations (at least ±10 % / 5 %); iv = the surface's vol × (1 + noise × N(0, 1)); bid/ask
    the Black-76 prices of iv ∓ spread_vol / 2 (floored at a tick of 0.01), discounted at rate."""
    rng = np.random.default_rng(seed)
    strikes, ts, fwds, vols = [], [], [], []
    for s in surface.slices:
        sd = float(np.sqrt(s.params.total_variance(0.0)))
        k = np.linspace(-max(3.5 * sd, 0.10), max(2.0 * sd, 0.05), n_strikes)
        vols.append(surface.smile(k, np.full(k.size, s.t))[0])
        strikes.append(s.forward * np.exp(k))
        ts.append(np.full(k.size, s.t))
        fwds.append(np.full(k.size, s.forward))
    strike, t, fwd = np.concatenate(strikes), np.concatenate(ts), np.concatenate(fwds)
    iv = np.concatenate(vols) * (1.0 + noise * rng.standard_normal(strike.size))
    is_call = strike >= fwd
    disc = np.exp(-rate * t)
    lo = greeks(is_call, fwd, strike, t, np.maximum(iv - spread_vol / 2, 1e-4), rate,
                model="black76")["price"]
    hi = greeks(is_call, fwd, strike, t, iv + spread_vol / 2, rate, model="black76")["price"]
    bid = np.maximum(np.floor(lo * 100.0) / 100.0, 0.0)
    ask = np.maximum(np.ceil(hi * 100.0) / 100.0, bid + 0.01)
    return Quotes.of(strike, t, fwd, is_call=is_call, iv=iv, bid=bid, ask=ask, discount=disc)
