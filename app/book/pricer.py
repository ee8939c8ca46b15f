"""Prices one underlying's option rows into the (9, N) buffer the group hands it.

- Every row first through the European kernel (the reference for the early-exercise premium).
- American rows (their style, or the underlying's `option_style`): the integral
  representation over exercise boundaries (app.pricing.american). The boundaries do not depend
  on spot and serve every expiry up to their horizon, so they are solved once per (call/put,
  vol octave, rate, yield, model) and kept here; while the vols do not move, the boundaries'
  values at each option's quadrature nodes are kept too (`american_prepare`), and a tick that
  moves only spot and event time reads those (about a third of the full evaluation).
- Cash dividends (`UnderlyingMarket.dividends` with an ex date inside an option's life): the
  spot model on Crank–Nicolson grids for European and American rows alike (one model per book:
  an American price is never below the European one), solved once and read at each new spot;
  re-solved when spot leaves a grid's band, an hour passes, an ex date passes, or the vol, the
  rate or the dividends change. A re-solve of a large book takes seconds: it is logged.

`scratch=True` (scenarios, attribution steps) prices a what-if: caches are read, never
replaced, so a shock never disturbs what the live ticks reuse."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import numpy as np

from app.book.market import UnderlyingMarket
from app.domain.units import SECONDS_PER_YEAR
from app.pricing import (
    AmericanBoundaries,
    AmericanNodes,
    DividendGrid,
    FloatArray,
    american_boundaries,
    american_greeks_into,
    american_nodes_greeks_into,
    american_nodes_replace,
    american_prepare,
    dividend_grid_greeks_into,
    dividend_grids,
    greeks,
    greeks_into,
)

if TYPE_CHECKING:
    from app.book.group import OptionGroup

log = logging.getLogger("dynhedge.pricer")
HORIZON_STEP_Y = 0.5  # boundary horizons are whole multiples of this many years
#: A row whose prepared nodes went stale sooner than this after their preparation (spot a
#: hair from its boundary, where the nodes' age limit is tiny) is priced in full on the
#: cached boundaries until this long after that preparation, not prepared again every tick.
MIN_NODES_LIFE_Y = 1.0 / SECONDS_PER_YEAR


class OptionPricer:
    __slots__ = ("_am_key", "_am_state", "_grid", "_grid_key", "_nodes", "_nodes_at",
                 "_nodes_key", "_panel")

    def __init__(self) -> None:
        self._am_state: AmericanBoundaries | None = None
        self._am_key: tuple[object, ...] | None = None
        self._panel: np.ndarray | None = None  # each American row's boundary panel in _am_state
        self._nodes: AmericanNodes | None = None
        self._nodes_key: tuple[object, ...] | None = None
        self._nodes_at: FloatArray | None = None  # each row's preparation, on the nodes' clock
        self._grid: tuple[DividendGrid, DividendGrid | None, float] | None = None
        self._grid_key: tuple[object, ...] | None = None

    def price(self, g: OptionGroup, spot: float, t: FloatArray, vol: FloatArray,
              market: UnderlyingMarket, out: FloatArray, *, rate_shift: float = 0.0,
              scratch: bool = False) -> FloatArray | None:
        """Fill `out` (9, N) with each row's figures at `spot`, years to expiry `t` and vols
        `vol` (the rate moved by `rate_shift`); returns the early-exercise premium per unit
        (None: no American row). `scratch`: a what-if — what is cached for the live ticks is
        read but not replaced."""
        n = g.n
        rate = market.rate + rate_shift
        q, black76 = market.div_yield, market.is_future
        greeks_into(g.is_call[:n], spot, g.strike[:n], t, vol, rate, q, black76, out)
        divs = _dividends_within(market, t)
        if divs is not None:
            return self._on_grids(g, spot, t, vol, rate, q, divs, market.dividends, out,
                                  scratch)
        american = g.american[:n]
        if not american.any():
            return None
        idx = np.flatnonzero(american)
        european = out[0, idx].copy()
        sub = np.empty((9, idx.size))
        self._american(g.is_call[idx], spot, g.strike[idx], t[idx], vol[idx], rate, q,
                       black76, idx, sub, scratch)
        out[:, idx] = sub
        eep = np.zeros(n)
        eep[idx] = out[0, idx] - european
        return eep

    # --- American rows ----------------------------------------------------------------------

    def _american(self, is_call: np.ndarray, spot: float, strike: FloatArray, t: FloatArray,
                  vol: FloatArray, rate: float, q: float, black76: bool, idx: np.ndarray,
                  out: FloatArray, scratch: bool) -> None:
        horizon = HORIZON_STEP_Y * max(1.0, float(np.ceil(t.max() / HORIZON_STEP_Y)))
        key = (rate, q, black76, horizon)
        nodes_key = (idx.tobytes(), key, vol.tobytes())
        nodes = self._nodes
        if nodes is not None and self._nodes_key == nodes_key and self._am_key == key:
            elapsed = float(nodes.t[0] - t[0])
            if american_nodes_greeks_into(nodes, spot, elapsed, out) == 0:
                return
            if self._stale_rows(is_call, spot, strike, t, vol, rate, q, black76, out,
                                elapsed, scratch):
                return
        reuse = self._am_state if self._am_key == key else None
        state, panel = american_boundaries(is_call, vol, rate, q, black76, horizon, reuse=reuse)
        stale = american_greeks_into(is_call, spot, strike, t, vol, rate, q, black76, state,
                                     panel, out)
        if stale:
            _generic(is_call, spot, strike, t, vol, rate, q, black76, out)
        if scratch:
            return
        self._am_state, self._am_key, self._panel = state, key, panel
        if not stale:  # the next tick at these vols reads the quadrature nodes
            self._nodes = american_prepare(is_call, spot, strike, t, vol, rate, q, black76,
                                           state, panel)
            self._nodes_key = nodes_key
            self._nodes_at = np.zeros(idx.size)

    def _stale_rows(self, is_call: np.ndarray, spot: float, strike: FloatArray, t: FloatArray,
                    vol: FloatArray, rate: float, q: float, black76: bool, out: FloatArray,
                    elapsed: float, scratch: bool) -> bool:
        """The rows the prepared nodes left NaN (spot came near their boundary, or their
        nodes slid too far): priced on the cached boundaries and prepared again alone, the
        rest untouched — except rows prepared less than MIN_NODES_LIFE_Y ago, priced in full
        until then. False when the cached boundaries do not cover them either."""
        state, panel, nodes, prepared_at = self._am_state, self._panel, self._nodes, \
            self._nodes_at
        assert state is not None and panel is not None and nodes is not None
        assert prepared_at is not None
        rows = np.flatnonzero(np.isnan(out[0]))
        sub = np.empty((9, rows.size))
        args = (is_call[rows], spot, strike[rows], t[rows], vol[rows], rate, q, black76, state,
                panel[rows])
        if american_greeks_into(*args, sub):
            return False
        out[:, rows] = sub
        if scratch:
            return True
        due = elapsed - prepared_at[rows] >= MIN_NODES_LIFE_Y  # the others: in full a while
        if not due.any():
            return True
        rows = rows[due]
        fresh = american_prepare(is_call[rows], spot, strike[rows], t[rows], vol[rows], rate, q,
                                 black76, state, panel[rows])
        self._nodes = american_nodes_replace(nodes, rows, fresh, elapsed)
        self._nodes_at = prepared_at.copy()
        self._nodes_at[rows] = elapsed
        return True

    # --- cash dividends -----------------------------------------------------------------------

    def _on_grids(self, g: OptionGroup, spot: float, t: FloatArray, vol: FloatArray,
                  rate: float, q: float, divs: tuple[FloatArray, FloatArray],
                  dividends: tuple[tuple[float, float], ...], out: FloatArray,
                  scratch: bool) -> FloatArray | None:
        n = g.n
        live = np.flatnonzero(t > 0.0)  # expired rows keep the kernel's intrinsic figures
        american = g.american[:n]
        t_live, vol_live = t[live], vol[live]
        # the cache is keyed on what the grids were solved for; time moves them on
        key = (live.tobytes(), american.tobytes(), vol_live.tobytes(), rate, q, dividends)
        sub = np.empty((9, live.size))
        cached = self._grid
        if cached is not None and self._grid_key == key and live.size:
            grid, european_grid, t_solved = cached
            elapsed = t_solved - float(t_live[0])
            if dividend_grid_greeks_into(grid, spot, elapsed, sub) == 0:
                return self._grid_out(g, live, sub, european_grid, spot, elapsed, out)
        started = time.perf_counter()
        times, amounts = divs
        args = (g.is_call[live], np.full(live.size, spot), g.strike[live], t_live, vol_live,
                np.full(live.size, rate), np.full(live.size, q))
        grid = dividend_grids(*args, american[live], times, amounts)
        european_grid = dividend_grids(*args, np.zeros(live.size, dtype=bool), times,
                                       amounts) if american[live].any() else None
        took = time.perf_counter() - started
        if took > 0.05:
            log.warning("cash-dividend grids of %d options solved in %.2f s", live.size, took)
        dividend_grid_greeks_into(grid, spot, 0.0, sub)
        if not scratch and live.size:
            self._grid = (grid, european_grid, float(t_live[0]))
            self._grid_key = key
        return self._grid_out(g, live, sub, european_grid, spot, 0.0, out)

    @staticmethod
    def _grid_out(g: OptionGroup, live: np.ndarray, sub: FloatArray,
                  european_grid: DividendGrid | None, spot: float, elapsed: float,
                  out: FloatArray) -> FloatArray | None:
        out[:, live] = sub
        if european_grid is None:
            return None
        eu = np.empty_like(sub)
        dividend_grid_greeks_into(european_grid, spot, elapsed, eu)
        eep = np.zeros(g.n)
        eep[live] = np.where(g.american[live], sub[0] - eu[0], 0.0)
        return eep


def _dividends_within(market: UnderlyingMarket,
                      t: FloatArray) -> tuple[FloatArray, FloatArray] | None:
    """The cash dividends paid inside some option's life, as (years from the valuation
    time, amounts); None when there are none (or no valuation time yet)."""
    if not market.dividends or market.as_of is None or not t.size or market.is_future:
        return None  # a future pays no cash dividend: its options are Black-76 on it
    horizon = float(t.max())
    years = [((ex - market.as_of) / SECONDS_PER_YEAR, amount)
             for ex, amount in market.dividends]
    within = [(y, a) for y, a in years if 0.0 < y < horizon]
    if not within:
        return None
    return (np.array([y for y, _ in within]), np.array([a for _, a in within]))


def _generic(is_call: np.ndarray, spot: float, strike: FloatArray, t: FloatArray,
             vol: FloatArray, rate: float, q: float, black76: bool, out: FloatArray) -> None:
    """The rows the hot-path kernel leaves NaN (two exercise boundaries under negative
    rates): the validated entry point, which prices them on a grid."""
    bad = np.flatnonzero(np.isnan(out[0]))
    g = greeks(is_call[bad], spot, strike[bad], t[bad], vol[bad], rate, q,
               model="black76" if black76 else "bsm", style="american")
    for row, name in enumerate(("price", "delta", "gamma", "vega", "theta", "rho", "vanna",
                                "volga", "charm")):
        out[row, bad] = g[name]
