"""Strategy spellings, interval schedules, and the hedge decision against the live engine's."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.backtest import CostModel, parse_strategy
from app.book.risk import UnderlyingRisk
from app.domain import ManualClock
from app.errors import InvalidInput
from app.hedging import HedgeEngine, HedgePolicy, HedgeSpec, Mode, Reason, RebalanceTo, decide

from .helpers import NO_COSTS, one_call_book, run

LIFE = 28 * 86_400.0


def test_spellings_map_to_live_policies() -> None:
    costs = CostModel(commission=0.0, per_share=0.002, spread_bps=2.0)
    assert parse_strategy("none", LIFE, costs, 100.0).policy.mode is Mode.OFF
    static = parse_strategy("static", LIFE, costs, 100.0)
    assert static.policy.mode is Mode.INTERVAL and static.policy.interval_s == LIFE
    interval = parse_strategy("interval:20", LIFE, costs, 100.0)
    assert interval.policy.interval_s == pytest.approx(LIFE / 20)
    assert interval.interval_count == 20
    band = parse_strategy("band:250:edge", LIFE, costs, 100.0).policy
    assert (band.mode, band.band, band.rebalance_to) == (Mode.BAND, 250.0, RebalanceTo.EDGE)
    ww = parse_strategy("whalley_wilmott:0.001", LIFE, costs, 100.0).policy
    assert ww.mode is Mode.WHALLEY_WILMOTT and ww.risk_aversion == 0.001
    assert ww.cost_per_share == pytest.approx(0.002 + 2e-4 * 100.0)
    assert parse_strategy("whalley_wilmott:1", LIFE, NO_COSTS, 100.0).policy.cost_per_share == 0.01
    pi = parse_strategy("portfolio_insurance:0.9@band:100+tail:0.8:5", LIFE, costs, 100.0)
    assert pi.insurance_floor == 0.9 and pi.policy.mode is Mode.BAND
    assert (pi.tail_moneyness, pi.tail_contracts) == (0.8, 5.0)
    assert parse_strategy("none+tail", LIFE, costs, 100.0).tail_moneyness == 0.9


@pytest.mark.parametrize("bad", ["sometimes", "interval", "interval:2.5", "band:-1",
                                 "whalley_wilmott:0", "static+hedge", "interval:x"])
def test_bad_spellings_are_refused_naming_the_strategy(bad: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_strategy(bad, LIFE, NO_COSTS, 100.0)
    assert err.value.field == "strategy"


@pytest.mark.parametrize(("steps", "n"), [(252, 100), (252, 252), (260, 20), (1000, 7),
                                          (37, 37), (500, 3), (252, 1)])
def test_interval_n_rebalances_exactly_n_times_whatever_the_steps(steps: int, n: int) -> None:
    start = 1_735_689_600.0
    times = np.linspace(start, start + LIFE, steps + 1)
    policy = parse_strategy(f"interval:{n}", LIFE, NO_COSTS, 100.0).policy
    last = np.full(1, np.nan)
    due_steps = []
    for i in range(steps):  # no decision at the end of the life
        d = decide(policy, HedgeSpec("XYZ"), delta=np.array([500.0]), spot=100.0,
                   as_of=float(times[i] - start) + 1e-6, last_check=last, schedule_origin=0.0)
        last = d.last_check
        if d.orders[0]:
            due_steps.append(i)
    assert len(due_steps) == n
    assert due_steps[0] == 0
    expected = [math.ceil(k * steps / n - 1e-9) for k in range(n)]
    assert due_steps == expected


def test_none_never_trades_static_trades_once() -> None:
    rows = run(one_call_book(days=28), ["none", "static", "interval:20"], n_paths=500,
               n_steps=40, costs=CostModel(commission=50.0))
    none, static, daily = rows
    assert none["mean_trades"] == 0 and none["mean_cost"] == 0
    assert static["mean_trades"] == 1 and static["mean_cost"] == 50
    assert 15 <= daily["mean_trades"] <= 20
    assert daily["mean_cost"] == pytest.approx(50 * daily["mean_trades"])
    assert none["upside_kept"] == 1.0


policies = st.builds(
    HedgePolicy,
    mode=st.sampled_from([Mode.BAND, Mode.INTERVAL, Mode.WHALLEY_WILMOTT, Mode.OFF]),
    target_delta=st.sampled_from([0.0, 150.0, -40.0]),
    band=st.sampled_from([0.0, 10.0, 250.0]),
    rebalance_to=st.sampled_from([None, RebalanceTo.TARGET, RebalanceTo.EDGE]),
    interval_s=st.sampled_from([1.0, 30.0, 90.0]),
    min_order=st.sampled_from([1.0, 5.0, 100.0]),
    max_order=st.sampled_from([None, 50.0, 400.0]),
    max_position=st.sampled_from([None, 300.0, 2_000.0]),
    cost_per_share=st.sampled_from([0.01, 0.05]),
    risk_aversion=st.sampled_from([1e-4, 0.1, 1.0]),
    max_signals_per_s=st.just(1e9),
)
specs = st.builds(HedgeSpec, instrument=st.just("XYZ"),
                  multiplier=st.sampled_from([1.0, 100.0]), lot_size=st.sampled_from([1.0, 10.0]))


@settings(max_examples=60, deadline=None)
@given(policy=policies, spec=specs, seed=st.integers(0, 2**16))
def test_vectorized_decision_is_the_live_engines_decision(
    policy: HedgePolicy, spec: HedgeSpec, seed: int
) -> None:
    """Paths of book delta, spot and gamma: each path's live engine (fills arriving at once)
    and one vectorized call per step, as the backtester makes it, send the same orders for
    the same reasons."""
    rng = np.random.default_rng(seed)
    n_paths, n_steps = 4, 25
    book = np.cumsum(rng.normal(0, 300, (n_steps, n_paths)), axis=0)
    spot = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n_steps, n_paths)), axis=0))
    gamma = np.abs(rng.normal(50, 30, (n_steps, n_paths))) * (rng.random((n_steps, n_paths)) > .1)
    ts = 1_735_689_600.0 + np.cumsum(rng.choice([7.0, 30.0, 45.0, 60.0], n_steps))
    clock = ManualClock(1_735_689_600.0)
    engines = []
    for _ in range(n_paths):
        e = HedgeEngine(clock)
        e.set_policy("XYZ", policy)
        engines.append(e)
    live_pos = np.zeros(n_paths)
    pos = np.zeros(n_paths)
    last = np.full(n_paths, np.nan)
    for i in range(n_steps):
        clock.advance(10.0)
        net = book[i] + pos * spec.shares_per_unit
        d = decide(policy, spec, delta=net, spot=spot[i], as_of=float(ts[i]), hedge_position=pos,
                   gamma=gamma[i], tau=0.1, last_check=last, rate=0.01)
        last = d.last_check
        for p, e in enumerate(engines):
            risk = UnderlyingRisk("XYZ", float(spot[i, p]), float(ts[i]),
                                  float(book[i, p] + live_pos[p] * spec.shares_per_unit),
                                  float(gamma[i, p]), 0.0, 0.0, 0.0, float(live_pos[p]), 0.0, 0.1)
            sig = e.decide(risk, spec, clock.now(), 0.01)
            live = 0.0 if sig is None else sig.order_qty
            if sig is not None:
                e.on_fill(sig.id, sig.order_qty)
                live_pos[p] += sig.order_qty
            assert d.orders[p] == live, (i, p)
            assert Reason(d.reasons[p]).label == e.state("XYZ").last_decision, (i, p)
        pos += d.orders
