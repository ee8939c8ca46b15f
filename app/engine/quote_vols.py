"""Implied vols of option quotes (an option tick's bid/ask mid), for the core: European on the
preallocated one-element kernels, American on boundary panels cached per (rate, yield, model,
horizon). Refused with InvalidInput naming the cause — a mid no vol fits, or one that carries
no vol information — so the previous vol stays."""

from __future__ import annotations

import math

import numpy as np

from app.book.market import UnderlyingMarket
from app.domain import Instrument, Tick
from app.domain.units import SECONDS_PER_YEAR
from app.errors import InvalidInput
from app.pricing import (
    NO_CONVERGENCE,
    REASONS,
    AmericanBoundaries,
    american_boundaries,
    american_implied_vol_into,
    american_vol_range,
    greeks_into,
    implied_vol_into,
)

# Below this vega per 1.00 vol (× max(spot, strike)) a quote's mid carries no vol information:
# float64 prices round at ~1e-16 relative, which then moves the implied vol by > 1 vol point.
VOL_INFO_FLOOR = 1e-8


class _QuoteBuffers:
    """Preallocated one-element arrays for implying the vol of one option quote."""

    __slots__ = ("figures", "is_call", "price", "reason", "strike", "t", "vol")

    def __init__(self) -> None:
        self.is_call = np.zeros(1, dtype=np.bool_)
        self.price = np.zeros(1)
        self.strike = np.zeros(1)
        self.t = np.zeros(1)
        self.vol = np.zeros(1)
        self.reason = np.zeros(1, dtype=np.int8)
        self.figures = np.zeros((9, 1))


class QuoteVols:
    """The buffers and cached American panels of the core's quote-implied vols."""

    __slots__ = ("_american_states", "_buffers")

    def __init__(self) -> None:
        self._buffers = _QuoteBuffers()
        self._american_states: dict[tuple[float, float, bool, float], AmericanBoundaries] = {}

    def implied(self, inst: Instrument, market: UnderlyingMarket, tick: Tick,
                american: bool) -> float:
        """The vol the quote's mid implies, through the unvalidated kernels on preallocated
        one-element buffers (the inputs were validated at the edge). Refused, naming the
        cause: no vol fits the mid (below intrinsic, above the upper bound, expired), or the
        mid does not determine one — `no_vol_information`: the vega at the solution is below
        VOL_INFO_FLOOR × max(spot, strike), so the float rounding of the price alone moves the
        vol by more than a vol point (deep in the money); the previous vol is kept."""
        mid = tick.mid
        if mid is None:
            raise InvalidInput("iv", "an option tick needs iv, or bid and ask")
        if market.spot is None or market.as_of is None:
            raise InvalidInput("bid", "the underlying has no spot to imply a vol from")
        assert inst.strike is not None and inst.expiry is not None
        q = self._buffers
        q.is_call[0] = inst.is_call
        q.price[0] = mid
        q.strike[0] = inst.strike
        q.t[0] = max(inst.expiry - max(market.as_of, tick.ts), 0.0) / SECONDS_PER_YEAR
        if american:
            self._implied_american(inst, market, q)
        else:
            implied_vol_into(q.is_call, q.price, market.spot, q.strike, q.t, market.rate,
                             market.div_yield, market.is_future, q.vol, q.reason)
        value = float(q.vol[0])
        if math.isnan(value):
            why = REASONS[int(q.reason[0])]
            raise InvalidInput("bid", f"no implied vol fits the mid {mid:g} ({why})")
        greeks_into(q.is_call, market.spot, q.strike, q.t, q.vol, market.rate,
                    market.div_yield, market.is_future, q.figures)
        vega = float(q.figures[3, 0])
        if not value > 0.0 or vega < VOL_INFO_FLOOR * max(market.spot, inst.strike):
            raise InvalidInput("bid", f"no_vol_information: the mid {mid:g} does not determine "
                               f"a vol (vega {vega:.3g} per 1.00 vol); the previous vol is kept")
        if value > 10.0:
            raise InvalidInput("bid", f"the mid {mid:g} implies a vol of {value:.4g}, "
                               "above the 10.0 (1,000 %) accepted")
        return value

    def _implied_american(self, inst: Instrument, market: UnderlyingMarket,
                          q: _QuoteBuffers) -> None:
        """The American vol of a quote (into q.vol / q.reason), on boundary panels cached per
        (rate, yield, model, horizon) and extended when a quote needs another vol octave."""
        assert inst.expiry is not None and market.spot is not None
        now = market.as_of or 0.0
        if any(now < ex < inst.expiry for ex, _ in market.dividends):
            raise InvalidInput("bid", "the vol of an American option under cash dividends is "
                               "not implied from its quotes: send its `iv`")
        horizon = max(1.0, math.ceil(float(q.t[0]) / 0.5) * 0.5)
        key = (market.rate, market.div_yield, market.is_future, horizon)
        state = self._american_states.get(key)
        if state is None:
            state = american_vol_range(market.rate, market.div_yield, market.is_future, horizon,
                                       0.05, 2.0, with_rho=False)
        for _ in range(4):
            missing = american_implied_vol_into(
                q.is_call, q.price, market.spot, q.strike, q.t, market.rate, market.div_yield,
                market.is_future, state, q.vol, q.reason)
            if not missing:
                break
            if _ == 3:  # still no panel for it: no vol settles
                q.vol[0], q.reason[0] = math.nan, REASONS.index(NO_CONVERGENCE)
                break
            state, _ = american_boundaries(q.is_call, q.vol, market.rate, market.div_yield,
                                           market.is_future, horizon, reuse=state,
                                           with_rho=False)
        self._american_states[key] = state
