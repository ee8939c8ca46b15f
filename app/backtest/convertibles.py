"""Convertible bonds along the backtest's paths: the Tsiveriotis–Fernandes solve, shared.

Pricing a convertible is a backward solve on a grid in the stock price; solving it per path and
per step would cost 5,000 × 250 solves. Instead, at each step, the paths are grouped in
blocks: by credit spread level (the spread only moves by whole down-jumps) and by spot, each
path taking the nearest centre of a fixed ladder S0 · e^{k·h} (h = `centre_step`, so a path
is within ±h/2 in log of its centre, well inside the grid's reuse band). Each bond is solved
once per block (one batch), then every path is read off its block's grid at its own spot
(`revalue_points`): a solve costs per block, a path costs an interpolation. Because a path's
value at one step is the base of the next, the grid errors of the blocks telescope out of
the P&L (only the first and last marks carry them).

Events: a coupon paid over a step is cash to the holder (the dirty price drops by it). A bond
the model says to convert (its value at its conversion value before maturity: a call forcing
it, or dividends making it pay) is converted on that path: from then on it is `ratio` shares
(their dividend yield is cash). A bond at maturity pays max(redemption, ratio × S) and is
cash from then on.

The credit model (`CreditParams`): every bond's spread widens by `spread_jump` for each
down-jump of the stock (Merton paths), and stays wider — the convertible-arbitrage failure:
the stock falls, the hedge gains less than the bond loses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.backtest.markets import MarketPaths
from app.book.convertibles import terms_at
from app.domain import ConvertibleSpec
from app.domain.units import SECONDS_PER_YEAR
from app.pricing.arrays import FloatArray
from app.pricing.convertible import FIGURE_NAMES, GridSpec, pack, revalue_points, solve

ROWS = len(FIGURE_NAMES)
CONVERTED_TOL = 1e-9  # of face: a value this close to the conversion value is converted


@dataclass(frozen=True, slots=True)
class BondHolding:
    """A convertible in a backtest book: its terms and how many bonds are held."""

    symbol: str
    spec: ConvertibleSpec
    quantity: float


@dataclass(frozen=True, slots=True)
class CreditParams:
    """`spread_jump`: added to every bond's credit spread (continuous, 0.01 = 100 bp) for each
    down-jump of the stock; 0: the spreads never move."""

    spread_jump: float = 0.0


@dataclass(frozen=True, slots=True)
class BondFigures:
    """The convertibles of a book at one step, summed over bonds, per path (n_paths,): value
    $ of the bonds still held (`value_end` also counts those paid at this step), delta
    shares, gamma shares per $1, theta $ per year, vega $ per 1.00 vol, credit $ per 1.00 of
    spread; `cash` $ received over the step ending here (coupons, maturity payments in
    value_end aside, dividends of converted bonds) and `carry` its part owed to holding
    converted shares; the |gamma| weight and |gamma|·years to maturity (Whalley–Wilmott)."""

    value: FloatArray
    value_end: FloatArray
    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray
    credit: FloatArray
    cash: FloatArray
    carry: FloatArray
    gamma_weight: FloatArray
    gamma_tau: FloatArray


def spread_paths(market: MarketPaths, credit: CreditParams) -> FloatArray:
    """(n_steps + 1, n_paths) the widening of every bond's spread over its own at each step:
    `spread_jump` per down-jump so far (0 without jumps or without a credit model)."""
    out = np.zeros_like(market.spot)
    if credit.spread_jump == 0.0 or market.jump_counts is None or market.jump_logs is None:
        return out
    down = np.where(market.jump_logs < 0.0, market.jump_counts, 0)
    np.cumsum(down * credit.spread_jump, axis=0, out=out[1:])
    return out


class BondMarks:
    """The figures of a book's convertibles at each step of `market`'s paths (call in step
    order: conversions and coupons are tracked from one step to the next)."""

    def __init__(self, holdings: tuple[BondHolding, ...], market: MarketPaths,
                 widening: FloatArray, vol: float, rate: float, div_yield: float,
                 grid: GridSpec | None = None, centre_step: float = 0.1) -> None:
        self.holdings = holdings
        self.times, self.spot = market.times, market.spot
        self.widening = widening
        self.vol, self.rate, self.q = vol, rate, div_yield
        self.grid = grid or GridSpec()
        self.h = centre_step
        self.s0 = float(market.spot[0, 0])
        n_paths = market.spot.shape[1]
        self.converted = np.zeros((len(holdings), n_paths), dtype=bool)
        self.paid = np.zeros(len(holdings), dtype=bool)  # matured and paid at an earlier step
        self.out = np.empty((ROWS, n_paths))
        self.last = -1

    def _blocks(self, i: int) -> tuple[FloatArray, FloatArray, np.ndarray]:
        """(centre spot, spread widening) of each block at step i, and each path's block."""
        spot, wide = self.spot[i], self.widening[i]
        levels, level = np.unique(wide, return_inverse=True)
        centre = np.rint(np.log(spot / self.s0) / self.h).astype(np.int64)
        lo = int(centre.min())
        span = int(centre.max()) - lo + 1
        keys, block = np.unique(level.ravel() * span + (centre - lo), return_inverse=True)
        centres = self.s0 * np.exp((keys % span + lo) * self.h)
        return centres, levels[keys // span], block.ravel().astype(np.int64)

    def __call__(self, i: int) -> BondFigures:
        if i != self.last + 1:
            raise ValueError(f"steps must be valued in order: {i} after {self.last}")
        self.last = i
        t = float(self.times[i])
        spot = self.spot[i]
        zeros = np.zeros_like(spot)
        acc = {k: zeros.copy() for k in ("value", "value_end", "delta", "gamma", "theta",
                                         "vega", "credit", "cash", "carry", "gw", "gt")}
        dt = 0.0 if i == 0 else (t - float(self.times[i - 1])) / SECONDS_PER_YEAR
        held = [b for b in range(len(self.holdings)) if not self.paid[b]]
        centres, widening, block = self._blocks(i)
        nb = centres.shape[0]
        terms = [terms_at(self.holdings[b].spec, t) for b in held]
        state = None
        if held:
            batch = pack([tm for tm in terms for _ in range(nb)])
            spread = np.concatenate([self.holdings[b].spec.credit_spread + widening
                                     for b in held])
            state = solve(batch, np.tile(centres, len(held)), self.vol, self.rate, self.q,
                          credit_spread=spread, grid=self.grid)
        for k, b in enumerate(held):
            assert state is not None
            hold = self.holdings[b]
            spec, qty = hold.spec, hold.quantity
            ratio = spec.conversion_ratio
            figs = revalue_points(state, block + k * nb, spot, self.out)
            prev = self.spot[i - 1] if i > 0 else spot
            conv = self.converted[b]
            # a converted bond is shares: its dividends are cash, it has no other figures
            dividends = np.where(conv, qty * ratio * prev * np.expm1(self.q * dt), 0.0)
            matured = terms[k].maturity <= 0.0
            coupons = np.full_like(spot, _coupons_between(float(self.times[max(i - 1, 0)]), t,
                                                          spec))
            if matured and spec.maturity > float(self.times[max(i - 1, 0)]):
                # converting at maturity forfeits the last coupon
                last = spec.face * spec.coupon_rate / spec.coupon_frequency
                coupons -= np.where(ratio * spot > spec.face, last, 0.0)
            acc["cash"] += dividends + np.where(conv, 0.0, qty * coupons)
            acc["carry"] += dividends
            if not matured:
                now = (~conv) & (figs[0] - figs[8] <= CONVERTED_TOL * spec.face)
                conv |= now
            price = np.where(conv, ratio * spot, figs[0])
            acc["value_end"] += qty * price
            if matured:
                self.paid[b] = True
                continue
            live = ~conv
            tau = terms[k].maturity
            gamma = np.where(live, figs[2], 0.0)
            acc["value"] += qty * price
            acc["delta"] += qty * np.where(live, figs[1], ratio)
            acc["gamma"] += qty * gamma
            acc["theta"] += qty * np.where(live, figs[4], 0.0)
            acc["vega"] += qty * np.where(live, figs[3], 0.0)
            acc["credit"] += qty * np.where(live, figs[6], 0.0)
            acc["gw"] += np.abs(qty * gamma)
            acc["gt"] += np.abs(qty * gamma) * tau
        return BondFigures(acc["value"], acc["value_end"], acc["delta"], acc["gamma"],
                           acc["theta"], acc["vega"], acc["credit"], acc["cash"], acc["carry"],
                           acc["gw"], acc["gt"])


def _coupons_between(t_from: float, t_to: float, spec: ConvertibleSpec) -> float:
    """The coupons per bond paid in (t_from, t_to] (epoch s): the k-th falls at maturity −
    k/frequency years (k ≥ 0), as the pricer counts them."""
    if spec.coupon_rate == 0.0 or t_to <= t_from:
        return 0.0
    step = SECONDS_PER_YEAR / spec.coupon_frequency
    k_min = max(0, math.ceil((spec.maturity - t_to) / step - 1e-9))
    k_max = math.ceil((spec.maturity - t_from) / step - 1e-9) - 1
    return max(0, k_max - k_min + 1) * spec.face * spec.coupon_rate / spec.coupon_frequency
