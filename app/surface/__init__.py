"""Volatility surface per underlying: raw SVI smiles per expiry (or one SSVI surface) fitted
from quotes, checked for static arbitrage, read with the dynamics the desk chooses.

Imports only app.pricing (plus numpy, numba, scipy; matplotlib inside `plot_fit`). Units:
t in years to expiry measured at the surface's as-of (its fit time); k = ln(K / F) with F the
forward of the option's own expiry; vols annual (0.2 = 20 %); errors in vol points (1 = 1 %).
Bad input at the edge raises ValueError("field: reason") (InvalidInput.from_value_error maps
it to 422 naming the field); per-quote problems are data (QuoteSelection.reason).

Building a surface
- `fit_surface(quotes, model="svi"|"ssvi", limits=FitLimits(), spot=S0, expiry={t: label})
  -> SurfaceFit`: filters the quotes, fits, checks. Swap `fit.surface` in only when
  `fit.accepted`; else keep the old one and show `fit.reasons`. `fit.as_dict()` is the report
  for GET /v1/surfaces/{u} (params per expiry, RMS error, checks, quotes used and rejected).
  Quotes of one expiry share the same t and forward. SVI fits the longest expiry first and
  holds each shorter one under the next (calendar) and away from negative densities; SSVI is
  free of static arbitrage by construction. A fit takes a few ms and holds the GIL outside its
  numba kernels: run it off the event loop (a thread or process executor).
- `Quotes.of(strike, t, forward, is_call=, iv=, bid=, ask=, discount=, vega=, weight=)`: N
  quotes; NaN marks what a quote lacks (iv implied from the bid/ask mid when missing).
- `filter_quotes(quotes, min_quotes=5) -> QuoteSelection` (used, reason, iv, k, weight).
- `surface_from_params([{t, forward, a, b, rho, m, sigma, expiry?}], spot=None) -> Surface`:
  a desk's PUT, validated (raises naming `expiries[i].b`, `.rho`, `.sigma`, `.a`, or
  `expiries[i]` for a calendar arbitrage against its neighbour).
- `ssvi_surface(SsviParams(rho, eta, gamma), t, theta, forward, expiry=None, spot=None)`:
  an SSVI surface from explicit numbers, validated likewise (`ssvi.eta`, `ssvi.theta[i]`...).
- `Surface.with_slice(Slice(t, forward, SviParams(...), expiry))`: one expiry refitted
  (`fit_svi_slice(k, vol, t, weight=None, above=<next expiry's SviParams>,
  butterfly_grid=DEFAULT_K_GRID) -> SviParams`) and swapped in, calendar-checked against
  both neighbours (the result is an "svi" surface even if it was "ssvi").

Reading it (Surface is immutable; share it between threads, swap the reference)
- `surface.vols(strike, t, forward) -> σ[N]`; `surface.smile(k, t) -> [σ, σ_k, σ_kk]` (hot
  path, contiguous float64[N] in); `vol_grid(surface, strikes[K], t[E], forward[E]) -> [E, K]`
  for GET .../grid; `surface.as_dict()`.
- `smile_vols(surface, strike, t, forward, spot, stickiness, dforward_dspot=None)
  -> SmileVols(vol, dvol_dspot, d2vol_dspot2)`; `smile_delta_gamma(delta, gamma, vega, vanna,
  volga, smile) -> (smile_delta, smile_gamma)` with app.pricing.greeks' per-unit Greeks.
- `vega_buckets(surface, strike, t, forward, spot, stickiness) -> VegaBuckets`;
  `.per_expiry(position_vega, len(surface.slices)) -> float64[E]`.
- `butterfly_check(surface, k_grid)`, `calendar_check(surface)`; `plot_fit(fit, "x.png")`.

What the book calls (N options of one underlying; F per option from its carry model)
- per refit (background, both stickinesses): `fit = fit_surface(...)`; if accepted, swap in.
- sticky strike: once per refit per option `sv = smile_vols(surface, K, t, F, spot=S,
  stickiness="strike")` (F at the spot S of that moment; F0 = F − F_S (S − S0) inside) and keep
  `sv.vol`; per tick nothing from the surface: vol fixed, ∂σ/∂S = 0, smile delta = BS delta.
  Vega buckets: once per refit (`vega_buckets(..., stickiness="strike")` weights) × vega.
- sticky moneyness: per tick `sv = smile_vols(surface, K, t, F(S), spot=S)` (one vectorized
  kernel call), then greeks with `sv.vol`, then `smile_delta_gamma(...)`. Vega buckets per tick
  (or per refit, as the desk tolerates: the weights move little with spot).
- `warm_up()` at start-up so no tick or fit pays for numba compilation (the first run in a
  fresh checkout compiles for ~30-60 s; later runs load numba's on-disk cache).

Demo and backtest: `app.surface.sample.sample_surface(spot, rate, div_yield)` (an equity-skew
SSVI surface, 8 expiries 1 week - 2 years) and `sample_quotes(surface, noise=, seed=)` (41
out-of-the-money quotes per expiry with bid/ask) give a market that quotes on a smile.
"""

from app.surface.checks import (
    DEFAULT_K_GRID,
    ButterflyCheck,
    CalendarCheck,
    butterfly_check,
    calendar_check,
    density,
)
from app.surface.dynamics import (
    STICKINESS,
    SmileVols,
    log_moneyness,
    smile_delta_gamma,
    smile_vols,
    vega_buckets,
)
from app.surface.fit import FitLimits, SliceFit, SurfaceFit, fit_surface, fit_svi_slice
from app.surface.plot import plot_fit
from app.surface.quotes import REASONS, Quotes, QuoteSelection, filter_quotes
from app.surface.surface import (
    MODELS,
    Slice,
    Surface,
    VegaBuckets,
    ssvi_surface,
    surface_from_params,
    vol_grid,
)
from app.surface.svi import LEE_BOUND, SsviParams, SviParams
from app.surface.warmup import warm_up

__all__ = [
    "DEFAULT_K_GRID",
    "LEE_BOUND",
    "MODELS",
    "REASONS",
    "STICKINESS",
    "ButterflyCheck",
    "CalendarCheck",
    "FitLimits",
    "QuoteSelection",
    "Quotes",
    "Slice",
    "SliceFit",
    "SmileVols",
    "SsviParams",
    "Surface",
    "SurfaceFit",
    "SviParams",
    "VegaBuckets",
    "butterfly_check",
    "calendar_check",
    "density",
    "filter_quotes",
    "fit_surface",
    "fit_svi_slice",
    "log_moneyness",
    "plot_fit",
    "smile_delta_gamma",
    "smile_vols",
    "ssvi_surface",
    "surface_from_params",
    "vega_buckets",
    "vol_grid",
    "warm_up",
]
