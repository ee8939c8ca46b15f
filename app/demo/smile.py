"""The demo's option market: each underlying's listed chain quoted on a smile, so that the
service fits its volatility surface live (issue 12).

The market's smile is a power-law SSVI surface per underlying (ρ = −0.7, η = 1.1, γ = 0.4: an
equity put skew) with the underlying's own vol at the money, sticky moneyness: it moves with
the forward as spot moves. A quote is an out-of-the-money option (puts below the forward,
calls at and above) of the monthly expiries, on the listed strike grid within about ±2 σ√T,
its bid and ask the Black–Scholes prices of the smile's vol ∓ `half_spread_vol`, in cents;
options worth less than 5 cents are not quoted. One underlying's chain per call of `frame`,
in turn, so the load stays small."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from app.demo.market import (
    SECONDS_PER_YEAR,
    UnderlyingSpec,
    monthly_expiries,
    occ_symbol,
    strike_step,
)
from app.domain import expiry_from
from app.pricing import greeks
from app.surface import Quotes, SsviParams, Surface, SurfaceFit, fit_surface, plot_fit, ssvi_surface

SKEW = SsviParams(rho=-0.7, eta=1.1, gamma=0.4)
MIN_PRICE = 0.05


class SmileQuoter:
    """Quotes of the underlyings' option chains on their smiles (module docstring)."""

    def __init__(self, underlyings: list[UnderlyingSpec], today: date,
                 half_spread_vol: float = 0.005, sd: float = 2.0) -> None:
        self.specs = underlyings
        self.expiries = monthly_expiries(today)
        self.expiry_ts = np.array([expiry_from(d.isoformat()) for d in self.expiries])
        self.half_spread_vol = half_spread_vol
        self.sd = sd
        self._next = 0
        self.sent = 0

    def smile(self, spec: UnderlyingSpec, spot: float, ts: float) -> Surface:
        """The market's surface of one underlying at `spot` and time `ts` (epoch s)."""
        t = np.maximum((self.expiry_ts - ts) / SECONDS_PER_YEAR, 1e-6)
        forward = spot * np.exp((spec.rate - spec.div_yield) * t)
        return ssvi_surface(SKEW, list(t), list(spec.vol ** 2 * t), list(forward), spot=spot)

    def chain(self, spec: UnderlyingSpec, spot: float, ts: float) -> list[dict[str, Any]]:
        """Tick messages quoting one underlying's chain at `spot` (its smile's vols)."""
        surface = self.smile(spec, spot, ts)
        step = strike_step(spot)
        out: list[dict[str, Any]] = []
        for day, s in zip(self.expiries, surface.slices, strict=True):
            width = self.sd * spec.vol * np.sqrt(s.t)
            lo = max(step, np.floor(s.forward * np.exp(-width) / step) * step)
            strikes = np.arange(lo, s.forward * np.exp(width) + step, step)
            vols = surface.vols(strikes, s.t, s.forward)
            calls = strikes >= s.forward
            bid, ask = (greeks(calls, spot, strikes, s.t, np.maximum(vols + d, 1e-3),
                               spec.rate, spec.div_yield)["price"]
                        for d in (-self.half_spread_vol, self.half_spread_vol))
            bid = np.floor(bid * 100.0) / 100.0
            ask = np.maximum(np.ceil(ask * 100.0) / 100.0, bid + 0.01)
            for k, c, b, a in zip(strikes.tolist(), calls.tolist(), bid.tolist(),
                                  ask.tolist(), strict=True):
                if b >= MIN_PRICE:
                    out.append({"type": "tick", "symbol": occ_symbol(spec.symbol, day, c, k),
                                "bid": b, "ask": a, "ts": ts})
        return out

    def frame(self, spots: np.ndarray, ts: float) -> list[dict[str, Any]]:
        """The next underlying's chain (in turn) at its current spot."""
        i = self._next % len(self.specs)
        self._next += 1
        quotes = self.chain(self.specs[i], float(spots[i]), ts)
        self.sent += len(quotes)
        return quotes


def demo_fit(seed: int = 11, ts: float = 1_780_322_400.0) -> tuple[UnderlyingSpec, SurfaceFit]:
    """The first demo underlying of `seed` (the demo's default), its chain quoted at `ts`
    (epoch s; default 2026-06-01T14:00Z) and fitted as the service fits it (the vols implied
    from each quote's mid)."""
    from datetime import UTC, datetime

    from app.demo.market import make_underlyings
    from app.domain import parse_occ

    spec = make_underlyings(np.random.default_rng(seed), 1)[0]
    quoter = SmileQuoter([spec], datetime.fromtimestamp(ts, UTC).date())
    chain = quoter.chain(spec, spec.spot, ts)
    insts = [parse_occ(q["symbol"]) for q in chain]
    expiry = np.array([i.expiry for i in insts if i is not None])
    t = (expiry - ts) / SECONDS_PER_YEAR
    quotes = Quotes.of([i.strike for i in insts if i is not None], t,
                       spec.spot * np.exp((spec.rate - spec.div_yield) * t),
                       is_call=np.array([i.is_call for i in insts if i is not None]),
                       bid=[q["bid"] for q in chain], ask=[q["ask"] for q in chain],
                       discount=np.exp(-spec.rate * t))
    labels = {float(x): str(datetime.fromtimestamp(e, UTC).date())
              for x, e in zip(t, expiry, strict=True)}
    return spec, fit_surface(quotes, spot=spec.spot, expiry=labels)


if __name__ == "__main__":  # python -m app.demo.smile PATH.png: the README's fitted smile
    import sys

    spec, fit = demo_fit()
    out = plot_fit(fit, sys.argv[1] if len(sys.argv) > 1 else "fitted_smile.png",
                   title=f"demo {spec.symbol} at {spec.spot:g} (vol {spec.vol:.1%})")
    print(f"{out}: {fit.model} fit of {int(fit.quotes.used.sum())} quotes, RMS "
          f"{fit.rms_vol_pts:.3f} vol points, accepted {fit.accepted}")
