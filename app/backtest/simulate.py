"""The backtest loop: one book, one market, many strategies, all paths at once.

Time loop over steps, numpy across paths and strategies. At each step i (event time t_i):

1. every strategy decides on the book's figures at t_i (`app.hedging.decide`, the live
   engine's decision, one element per path; no wall clock here: never stale or throttled, and
   fills are immediate, so nothing is ever pending), trades at S_i and pays the cost model;
2. the market moves to t_{i+1}; the option rows alive over the step are priced once on every
   path (shared by all strategies) and the step's P&L is booked.

P&L, per strategy and path, in $ at the end of the run: the change of the book's value over the
risk-free growth of its start value — options, delta-one holdings, hedges and costs:

    step gain = V(t_{i+1}) − V(t_i)·e^{r dt} + (stock + hedge shares)·(S_{i+1} − S_i·e^{(r−q)dt})
                − cost_i·e^{r dt},      pnl = Σ gains grown at r to the end

(a future's hedge needs no financing: its carry is 0). The hedge is marked at the end, not
unwound. Options expiring inside the run settle at their intrinsic value on the first step at or
past their expiry and are cash from then on.

Attribution of each step, from the figures at t_i (grown at r like the P&L so the buckets add
up), the delta, gamma and vega terms through `app.pnl.predict` as live: delta = net delta ·
dS; gamma = ½ Γ dS²; (when the vol moves) vanna = vanna · dS · dσ, volga = ½ volga · dσ²;
theta = Θ dt plus the financing of the book and the hedge (the time decay a hedged book earns
or pays) and the cash dividends its stock is paid; vega = ν dσ_mark; costs = −cost;
unexplained = the rest (higher-order and jump terms — and the ex-dividend drop, which the
options' prices anticipate and the delta term does not).

American rows (a position's `style`, or its underlying's `option_style`) are priced on
exercise boundaries and exercised per path where the model says (`EarlyExercise`); cash
dividends (`dividends` of an underlying) drop the stock at each ex time on every path and
price the rows they fall inside on finite-difference grids (app.backtest.valuation).

Convertible bonds in the book (`app.backtest.convertibles`) add their value and figures to the
options' at every step (shared by every strategy, like the options), their coupons as cash,
and one more bucket: credit = the bonds' credit spread sensitivity · ds (the spreads move with
the credit model's down-jumps).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.backtest.convertibles import BondFigures, BondMarks, CreditParams, spread_paths
from app.backtest.costs import CostModel
from app.backtest.exercise import EarlyExercise
from app.backtest.explain import StepExplainer
from app.backtest.markets import MarketPaths, dividends_in
from app.backtest.scenario import Legs, UnderlyingBook
from app.backtest.strategies import Strategy
from app.backtest.valuation import (
    BookFigures,
    RowGreeks,
    RowPricer,
    aggregate,
    price_rows,
    pricing_greeks,
)
from app.domain.units import SECONDS_PER_YEAR
from app.errors import InvalidInput
from app.hedging.decide import decide
from app.hedging.policy import Mode
from app.pnl import predict
from app.pricing.arrays import FloatArray

BUCKETS = ("delta", "gamma", "theta", "vega", "costs")
VOL_BUCKETS = ("vanna", "volga")  # when the market's vol moves
OPTION_MULTIPLIER = 100.0
MAX_ROUNDS = 1_000  # decisions at one time point (clipped orders), a guard against a loop


@dataclass(slots=True)
class Outcome:
    """Per strategy (axis 0) and path (axis 1), in $ unless stated: `pnl`, `cost`, `trades`
    (count), `turnover` (shares), `notional` ($ traded), `buckets` name → (k, n_paths).
    `initial_value` the book options' start value ($, signed; tail puts excluded).
    `sample` the first path: times (n+1,), spot (n+1,), hedge shares (k, n+1), trade shares
    (k, n+1) traded at each step, reasons (k, n+1) the `Reason` code of each step's first
    decision (−1 at the end: no decision). `spot_paths` up to 200 spot paths (n+1, m)."""

    pnl: FloatArray
    cost: FloatArray
    trades: FloatArray
    turnover: FloatArray
    notional: FloatArray
    buckets: dict[str, FloatArray]
    initial_value: float
    sample: dict[str, NDArray[Any]] = field(default_factory=dict)
    spot_paths: FloatArray | None = None
    seconds: float = 0.0
    exercise_value: FloatArray | None = None  # (k, n_paths) $ of early exercises (+ received)
    exercises: FloatArray | None = None  # (n_paths,) American rows exercised early per path
    explain: dict[str, FloatArray] = field(default_factory=dict)  # time, spot, vol: the
    # options' revaluation by sequential steps (`app.backtest.explain`), when asked for

    @property
    def unexplained(self) -> FloatArray:
        explained = np.zeros_like(self.pnl)
        for bucket in self.buckets.values():
            explained = explained + bucket
        return self.pnl - explained

    def merge(self, other: Outcome) -> Outcome:
        """The sum over two underlyings (the first keeps its sample)."""
        names = [*self.buckets, *(k for k in other.buckets if k not in self.buckets)]
        return Outcome(
            self.pnl + other.pnl, self.cost + other.cost, self.trades + other.trades,
            self.turnover + other.turnover, self.notional + other.notional,
            {k: (self.buckets.get(k, np.zeros_like(self.pnl))
                 + other.buckets.get(k, np.zeros_like(other.pnl))) for k in names},
            self.initial_value + other.initial_value, self.sample, self.spot_paths,
            self.seconds + other.seconds, _sum(self.exercise_value, other.exercise_value),
            _sum(self.exercises, other.exercises),
            {k: (self.explain.get(k, np.zeros_like(self.pnl))
                 + other.explain.get(k, np.zeros_like(other.pnl)))
             for k in {*self.explain, *other.explain}},
        )


def _sum(a: FloatArray | None, b: FloatArray | None) -> FloatArray | None:
    return b if a is None else a if b is None else a + b


def with_bonds(fig: BookFigures, b: BondFigures | None) -> BookFigures:
    """The options' figures (per strategy and path) plus the convertibles' (per path, the
    same for every strategy); Whalley–Wilmott's τ weighs each by its |gamma|."""
    if b is None:
        return fig
    weight = np.abs(fig.gamma)
    total = weight + b.gamma_weight
    tau = np.divide(weight * np.nan_to_num(fig.tau) + b.gamma_tau, total,
                    out=np.zeros_like(total), where=total > 0)
    return BookFigures(fig.value + b.value, fig.delta + b.delta, fig.gamma + b.gamma,
                       fig.theta + b.theta, fig.vega + b.vega,
                       np.where(np.isnan(fig.tau), np.nan, tau), fig.vanna, fig.volga)


def _overlay_rows(
    u: UnderlyingBook, strategies: Sequence[Strategy], start: float, end: float
) -> tuple[Legs, list[int | None], list[int | None]]:
    """Extra put rows (weight 0 in the book): one per distinct tail moneyness and insurance
    floor, expiring at `end`. Returns the rows and, per strategy, its tail row and its
    insurance row (indices into the extra rows, None when absent)."""
    strikes: list[float] = []
    tail_row: list[int | None] = []
    ins_row: list[int | None] = []

    def row_for(k: float) -> int:
        if k not in strikes:
            strikes.append(k)
        return strikes.index(k)

    for s in strategies:
        m = s.tail_moneyness
        tail_row.append(None if m is None else row_for(m * u.spot))
        ins_row.append(None if s.insurance_floor is None else row_for(s.insurance_floor * u.spot))
    n = len(strikes)
    rows = Legs(np.zeros(n, dtype=bool), np.array(strikes, dtype=np.float64),
                np.full(n, end), np.zeros(n))
    return rows, tail_row, ins_row


def run_underlying(
    u: UnderlyingBook,
    strategies: Sequence[Strategy],
    market: MarketPaths,
    costs: CostModel,
    on_step: Callable[[], None] | None = None,
    anchored: bool = True,
    credit: CreditParams | None = None,
    explain: bool = False,
) -> Outcome:
    """Run every strategy over `market` (one underlying's paths) for the book `u`; its
    convertibles' spreads move as `credit` says (None: never).

    `anchored`: interval rebalances fall in fixed slots of interval_s from the start (exactly
    N over the life on any grid); False: interval_s counts from the last rebalance's event
    time, as the live engine does on irregular ticks (the replay)."""
    began = time.perf_counter()
    pricing_greeks()  # fail before the loop when the pricing core is missing
    k, n_paths, n = len(strategies), market.n_paths, market.n_steps
    times, spot_all = market.times, market.spot
    start, end = float(times[0]), float(times[-1])
    # anchored: slots count from the start, in time since start nudged 1 µs forward so a step
    # meant to fall on a slot boundary is not lost to the rounding of epoch seconds (their
    # ulp is ~0.2 µs); otherwise event time exactly as the live engine sees it
    event_ts = [float(x) for x in ((times - start) + 1e-6 if anchored else times)]
    extra, tail_row, ins_row = _overlay_rows(u, strategies, start, end)
    n_book = u.legs.size
    rows = u.legs.concat(extra)
    weights = np.tile(rows.weight, (k, 1))
    spec = u.hedge
    spu = spec.shares_per_unit
    rate, carry = u.rate, u.carry
    want_tau = any(s.policy.mode is Mode.WHALLEY_WILMOTT for s in strategies)
    want_vol = market.vol is not None  # the vol moves: vanna and volga buckets too

    def vol_at(i: int) -> FloatArray | float:
        return u.vol if market.vol is None else market.vol[i]

    pricers: dict[bytes, RowPricer] = {}
    early = EarlyExercise(rows, n_paths, rate) if rows.is_american.any() else None

    def figures(i: int, alive: NDArray[np.intp], decide_mask: NDArray[np.bool_] | None,
                validate: bool = False) -> tuple[FloatArray, BookFigures, RowGreeks]:
        """Price the rows `alive` at t_i: (book value per strategy and path with every row
        priced, the figures of the rows still alive at t_i (`decide_mask`), per-row figures)."""
        if validate and not u.dividends:  # the first pricing: the validated entry point
            g = price_rows(rows, alive, spot_all[i], float(times[i]), vol_at(i), rate,
                           u.div_yield, u.model)
        else:
            key = alive.tobytes()
            if key not in pricers:
                pricers[key] = RowPricer(rows, alive, n_paths, rate, u.div_yield, u.model,
                                         u.dividends)
            g = pricers[key](spot_all[i], float(times[i]), vol_at(i))
        if early is not None:
            early.settle(alive, g, spot_all[i], float(times[i]), weights)
        w = weights[:, alive]
        if decide_mask is None or decide_mask.all():
            fig = aggregate(w, g, want_tau, want_vol)
            return fig.value, fig, g
        value_end = aggregate(w, g, False).value
        return value_end, aggregate(w * decide_mask, g, want_tau, want_vol), g

    bonds = None
    widening = np.zeros_like(spot_all)
    if u.convertibles:
        if market.vol is not None:
            raise InvalidInput("model", "a book of convertibles is marked at its flat vol: "
                               "gbm, merton or a replay")
        widening = spread_paths(market, credit or CreditParams())
        bonds = BondMarks(u.convertibles, market, widening, u.vol, rate, u.div_yield)
    explainer = None if not explain or bonds is not None else StepExplainer(
        rows, n_paths, rate, u.div_yield, u.model)
    alive = np.flatnonzero(rows.expiry > start)
    _, fig, g0 = figures(0, alive, None, validate=True)
    b_cur = None if bonds is None else bonds(0)
    fig = with_bonds(fig, b_cur)
    initial_value = float(np.mean(u.legs.weight @ g0.price[:n_book])) if n_book else 0.0
    if b_cur is not None:
        initial_value += float(np.mean(b_cur.value))

    # tail overlay: bought at the start at the model price; default size covers the start delta
    cost0 = np.zeros((k, n_paths))
    pos_in_alive = {int(r): j for j, r in enumerate(alive)}
    for s_idx, s in enumerate(strategies):
        row = tail_row[s_idx]
        if row is None:
            continue
        contracts = s.tail_contracts
        if contracts is None:
            contracts = max(1.0, float(np.rint(abs(fig.delta[s_idx, 0] + u.delta_one)
                                               / OPTION_MULTIPLIER)))
        w_put = contracts * OPTION_MULTIPLIER
        weights[s_idx, n_book + row] = w_put
        premium = g0.price[pos_in_alive[n_book + row]] * w_put
        cost0[s_idx] = costs.commission + costs.spread_bps * 1e-4 * premium
    if any(s.has_tail for s in strategies):
        _, fig, g0 = figures(0, alive, None, validate=True)
        fig = with_bonds(fig, b_cur)

    hedge = np.zeros((k, n_paths))  # units of the hedge instrument
    last_ts = np.full((k, n_paths), np.nan)
    pnl = np.zeros((k, n_paths))
    names = (*BUCKETS, *(VOL_BUCKETS if want_vol else ()),
             *(("credit",) if bonds is not None else ()))
    buckets = {b: np.zeros((k, n_paths)) for b in names}
    total_cost = np.zeros((k, n_paths))
    trades = (cost0 > 0).astype(np.float64)
    turnover = np.zeros((k, n_paths))
    notional = np.zeros((k, n_paths))
    sample_hedge = np.zeros((k, n + 1))
    sample_trade = np.zeros((k, n + 1))
    sample_reason = np.full((k, n + 1), -1, dtype=np.int8)
    g_cur = g0  # per-row figures at t_i, rows `alive`
    clips = [s.policy.max_order is not None or s.policy.max_position is not None
             for s in strategies]

    for i in range(n):
        s_i = spot_all[i]
        # 1. decide and trade at t_i. Fills are immediate here, and a fill is a decision
        # point live too: a clipped order is followed at once by the next clip.
        step_cost = cost0 if i == 0 else np.zeros((k, n_paths))
        step_shares = np.zeros((k, n_paths))
        deciding = list(range(k))
        for round_no in range(MAX_ROUNDS):
            net = fig.delta + u.delta_one + hedge * spu
            orders = np.zeros((k, n_paths))
            for s_idx in deciding:
                s = strategies[s_idx]
                target = None
                row = ins_row[s_idx]
                if row is not None:  # synthetic put: hold stock × (1 + put delta)
                    put_delta = g_cur.delta[int(np.flatnonzero(alive == n_book + row)[0])]
                    target = u.delta_one * (1.0 + put_delta)
                d = decide(s.policy, spec, delta=net[s_idx], spot=s_i, as_of=event_ts[i],
                           hedge_position=hedge[s_idx], gamma=fig.gamma[s_idx],
                           tau=fig.tau[s_idx], target=target, last_check=last_ts[s_idx],
                           rate=rate, schedule_origin=0.0 if anchored else None)
                orders[s_idx], last_ts[s_idx] = d.orders, d.last_check
                if round_no == 0:
                    sample_reason[s_idx, i] = d.reasons[0]
            shares = orders * spu
            step_cost = step_cost + costs.trade_cost(shares, s_i, u.vol)
            trades += orders != 0
            turnover += np.abs(shares)
            notional += np.abs(shares) * s_i
            hedge += orders
            step_shares += shares
            # only a clip can leave something to do right after a fill
            deciding = [j for j in deciding if clips[j] and orders[j].any()]
            if not deciding:
                break
        total_cost += step_cost
        sample_hedge[:, i] = hedge[:, 0] * spu
        sample_trade[:, i] = step_shares[:, 0]

        # 2. the market moves to t_{i+1}
        dt = (times[i + 1] - times[i]) / SECONDS_PER_YEAR
        growth, g_carry = np.exp(rate * dt), np.exp(carry * dt)
        s_next = spot_all[i + 1]
        still = rows.expiry[alive] > times[i + 1]
        value_end, fig_next, g_next = figures(i + 1, alive, still)
        if explainer is not None:
            explainer.step(alive, weights[:, alive], float(times[i]), float(times[i + 1]), s_i,
                           s_next, vol_at(i), vol_at(i + 1), fig.value, value_end)
        b_next = None if bonds is None else bonds(i + 1)
        bond_cash: FloatArray | float = 0.0  # coupons; dividends of converted bonds (carry)
        bond_carry: FloatArray | float = 0.0
        if b_next is not None:
            value_end = value_end + b_next.value_end
            fig_next = with_bonds(fig_next, b_next)
            bond_cash, bond_carry = b_next.cash, b_next.carry
        linear = u.delta_one + hedge * spu
        ds = s_next - s_i
        # cash dividends going ex in the step: the stock drops by them, its holder is paid
        paid = dividends_in(u.dividends, float(times[i]), float(times[i + 1])) * linear
        gain = (value_end - fig.value * growth + linear * (s_next - g_carry * s_i)
                - step_cost * growth + bond_cash + paid)
        # the live service's predict terms (app.pnl); theta here adds the financing
        dvol = 0.0 if market.vol is None else market.vol[i + 1] - market.vol[i]
        terms = predict(fig.delta + linear, fig.gamma, fig.vega, 0.0, 0.0,
                        0.0 if fig.vanna is None else fig.vanna,
                        0.0 if fig.volga is None else fig.volga, ds, dvol, 0.0, 0.0)
        step = {
            "delta": terms["delta"],
            "gamma": terms["gamma"],
            "theta": (fig.theta * dt - fig.value * (growth - 1.0)
                      - linear * s_i * (g_carry - 1.0) + bond_carry + paid),
            "vega": terms["vega"] if market.vol is not None else 0.0,
            "costs": -step_cost * growth,
        }
        if want_vol:
            step["vanna"], step["volga"] = terms["vanna"], terms["volga"]
        if b_cur is not None:
            step["credit"] = b_cur.credit * (widening[i + 1] - widening[i])
        b_cur = b_next
        pnl = pnl * growth + gain
        for b in names:
            buckets[b] = buckets[b] * growth + step[b]
        if not still.all():  # settled rows are cash from now on
            g_next = g_next.subset(still)
            alive = alive[still]
        fig, g_cur = fig_next, g_next
        if on_step is not None:
            on_step()
    sample_hedge[:, n] = hedge[:, 0] * spu

    m = min(n_paths, 200)
    return Outcome(
        pnl, total_cost, trades, turnover, notional, buckets, initial_value,
        sample={"times": times.copy(), "spot": spot_all[:, 0].copy(),
                "hedge_shares": sample_hedge, "trade_shares": sample_trade,
                "reasons": sample_reason},
        spot_paths=spot_all[:, :m].copy(), seconds=time.perf_counter() - began,
        exercise_value=None if early is None else early.value,
        exercises=None if early is None else early.count,
        explain={} if explainer is None else explainer.sums,
    )
