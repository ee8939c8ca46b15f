"""Where the vol of each option comes from, and how it moves with spot.

In order (issue 12, CONTRACT §8): the option's own quote when fresh (an `iv` tick, or the vol
implied from its bid/ask — per option, as before), else the underlying's fitted surface, else
its flat `vol`. Without a surface, a quote stays in force until the next one (the first
version's rule); with one, a quote older than `quote_max_age_s` of event time yields to it.

The surface moves with spot as the desk says (`stickiness`):
- `strike`: each option keeps its vol — evaluated once per refit (per surface version) and per
  option row, never per tick; ∂σ/∂S = 0, so the smile delta is the Black–Scholes delta;
- `moneyness`: the smile moves with the forward — σ(K, T; S) = σ_surface(ln(K / F(S)), T) —
  evaluated on every recompute (one vectorized kernel call), with ∂σ/∂S and ∂²σ/∂S² for the
  smile-adjusted delta and gamma.

Times: the surface's slices are in years to expiry at its fit time (`SurfaceState.as_of`), so
an option is looked up at (expiry − as_of) / year whenever it is valued."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.domain.units import SECONDS_PER_YEAR
from app.pricing import FloatArray
from app.surface import Surface, smile_vols

SOURCE_QUOTE, SOURCE_SURFACE, SOURCE_FLAT = 0, 1, 2
SOURCES = ("quote", "surface", "flat")
STICKINESS = ("strike", "moneyness")


@dataclass(frozen=True, slots=True)
class SurfaceConfig:
    """`surface` of PUT /v1/underlyings: the model fitted, the dynamics, when to refit (every
    `refit_s` of wall time, or once `min_new_quotes` new quotes arrived), and how long a quote
    overrides the surface (`quote_max_age_s` of event time)."""

    model: str = "svi"
    stickiness: str = "moneyness"
    refit_s: float = 60.0
    min_new_quotes: int = 20
    quote_max_age_s: float = 60.0


@dataclass(frozen=True, slots=True)
class OptionQuote:
    """One option's latest quote as a fit reads it: its terms, the vol its tick gave or
    implied (`iv`), the event time, and its market (NaN when the tick gave only an `iv`)."""

    strike: float
    expiry: float  # epoch s
    is_call: bool
    iv: float
    ts: float
    bid: float = float("nan")
    ask: float = float("nan")
    american: bool = False


@dataclass(slots=True)
class SurfaceState:
    """The surface of one underlying as the single writer holds it: swapped whole on a refit
    or a desk's PUT (`version` counts the swaps); `locked` keeps refits off a desk's surface."""

    config: SurfaceConfig
    surface: Surface | None = None
    as_of: float | None = None  # event time of the fit: the slices' t are years from it
    version: int = 0
    locked: bool = False
    source: str | None = None  # "fit" or "desk"
    report: dict[str, Any] | None = None  # the last fit's report (accepted or not)
    rejected: Counter[str] = field(default_factory=Counter)  # fits not swapped in, by reason
    new_quotes: int = 0  # quotes since the last fit started
    fitting: bool = False  # a fit runs in the background
    last_fit_wall: float | None = None
    # the latest quote of each option (symbol -> its quote): what the next fit reads
    quotes: dict[str, OptionQuote] = field(default_factory=dict)

    def note_quote(self, symbol: str, quote: OptionQuote) -> None:
        """An option tick's quote (its vol already implied, American where it is)."""
        self.quotes[symbol] = quote
        self.new_quotes += 1

    def install(self, surface: Surface, as_of: float, source: str) -> None:
        self.surface, self.as_of, self.source = surface, as_of, source
        self.version += 1


@dataclass(frozen=True, slots=True)
class VolView:
    """Per option (N): the vol used, where it came from (SOURCE_*), and its spot derivatives
    (None when every one is 0: no surface, or sticky strike)."""

    vol: FloatArray
    source: np.ndarray  # int8
    dvol_dspot: FloatArray | None = None
    d2vol_dspot2: FloatArray | None = None


def forwards(spot: float, t: FloatArray, rate: float, div_yield: float,
             black76: bool) -> tuple[FloatArray, FloatArray]:
    """(F, ∂F/∂S) per option for its time to expiry t (years): the futures price itself under
    Black-76, S e^{(r − q) t} otherwise."""
    if black76:
        ones = np.ones_like(t)
        return spot * ones, ones
    growth = np.exp((rate - div_yield) * t)
    return spot * growth, growth


def option_vols(quote_iv: FloatArray, quote_ts: FloatArray, flat_vol: float,
                state: SurfaceState | None, sticky: StickyCache, strike: FloatArray,
                expiry: FloatArray, spot: float, as_of: float, rate: float, div_yield: float,
                black76: bool) -> VolView:
    """The vols of N options valued at `as_of` (epoch s) and `spot`. `quote_iv` NaN where an
    option has no quote; `quote_ts` the event time of each quote."""
    have = ~np.isnan(quote_iv)
    surface = None if state is None else state.surface
    if surface is None or state is None or state.as_of is None:
        vol = np.where(have, quote_iv, flat_vol)
        source = np.where(have, SOURCE_QUOTE, SOURCE_FLAT).astype(np.int8)
        return VolView(vol, source)
    fresh = have & (as_of - quote_ts <= state.config.quote_max_age_s)
    t_surface = (expiry - state.as_of) / SECONDS_PER_YEAR
    if state.config.stickiness == "strike":
        surf = sticky.vols(state, surface, strike, t_surface, expiry, spot, as_of, rate,
                           div_yield, black76)
        vol = np.where(fresh, quote_iv, surf)
        return VolView(vol, np.where(fresh, SOURCE_QUOTE, SOURCE_SURFACE).astype(np.int8))
    t_now = np.maximum(expiry - as_of, 0.0) / SECONDS_PER_YEAR
    forward, dfds = forwards(spot, t_now, rate, div_yield, black76)
    sv = smile_vols(surface, strike, t_surface, forward, spot, "moneyness", dfds)
    vol = np.where(fresh, quote_iv, sv.vol)
    return VolView(vol, np.where(fresh, SOURCE_QUOTE, SOURCE_SURFACE).astype(np.int8),
                   np.where(fresh, 0.0, sv.dvol_dspot), np.where(fresh, 0.0, sv.d2vol_dspot2))


class StickyCache:
    """Sticky-strike vols of one group's rows, evaluated once per surface swapped in (and
    again when rows are added): a tick reads the array, it never touches the surface."""

    __slots__ = ("_n", "_surface", "_vols")

    def __init__(self) -> None:
        self._surface: Surface | None = None  # the surface the vols were read from
        self._n = -1
        self._vols: FloatArray = np.zeros(0)

    def vols(self, state: SurfaceState, surface: Surface, strike: FloatArray,
             t_surface: FloatArray, expiry: FloatArray, spot: float, as_of: float,
             rate: float, div_yield: float, black76: bool) -> FloatArray:
        n = strike.shape[0]
        if self._surface is not surface or self._n != n:
            t_now = np.maximum(expiry - as_of, 0.0) / SECONDS_PER_YEAR
            forward, dfds = forwards(spot, t_now, rate, div_yield, black76)
            self._vols = smile_vols(surface, strike, t_surface, forward, spot, "strike",
                                    dfds).vol
            self._surface, self._n = surface, n
        return self._vols
