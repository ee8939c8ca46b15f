"""The one hedge decision: every reason, worked by hand, many elements in one call; the live
engine's one-element call is the same function."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import HedgeSpec
from app.hedging import NO_RAILS, HedgePolicy, Mode, Rails, Reason, RebalanceTo, decide
from app.hedging.decide import Breach, Decider

T0 = 1_800_000_000.0
SPEC = HedgeSpec("XYZ")
BAND = HedgePolicy(mode=Mode.BAND, band=100.0)


def one(policy: HedgePolicy, delta: float, rails: Rails = NO_RAILS, spec: HedgeSpec = SPEC,
        **kw: float) -> tuple[float, Reason]:
    d = decide(policy, spec, delta=delta, spot=100.0, as_of=T0, rails=rails, **kw)
    return float(d.orders[0]), Reason(d.reasons[0])


@pytest.mark.parametrize(
    ("policy", "delta", "rails", "kw", "order", "reason"),
    [
        (HedgePolicy(), 5_000.0, NO_RAILS, {}, 0.0, Reason.OFF),
        (BAND, 5_000.0, NO_RAILS, {"valued": False}, 0.0, Reason.NO_SPOT),
        (BAND, 5_000.0, Rails(halted=True), {}, 0.0, Reason.HALTED),
        (BAND, 5_000.0, Rails(system_halt=True), {}, 0.0, Reason.SYSTEM_HALT),
        (BAND, 5_000.0, Rails(stale=True), {}, 0.0, Reason.STALE),
        (BAND, 80.0, NO_RAILS, {}, 0.0, Reason.INSIDE_BAND),
        (HedgePolicy(mode=Mode.INTERVAL, interval_s=60.0), 500.0, NO_RAILS,
         {"last_check": T0 - 30.0}, 0.0, Reason.INTERVAL_NOT_DUE),
        (HedgePolicy(mode=Mode.BAND, band=100.0, min_order=200.0), 150.0, NO_RAILS, {}, 0.0,
         Reason.BELOW_MIN_ORDER),
        (BAND, 5_000.0, Rails(clip_pending=True), {}, 0.0, Reason.CLIP_PENDING),
        # long 5,000 units, max 4,000, wants to sell 2,000: only a reduce-only policy passes
        (HedgePolicy(mode=Mode.BAND, band=100.0, max_position=4_000.0), 2_000.0, NO_RAILS,
         {"hedge_position": 5_000.0}, 0.0, Reason.LIMIT),
        (HedgePolicy(mode=Mode.BAND, band=100.0, max_position=4_000.0, reduce_only=True),
         2_000.0, NO_RAILS, {"hedge_position": 5_000.0}, -2_000.0, Reason.SIGNAL),
        # at the limit already, buying more clips to nothing
        (HedgePolicy(mode=Mode.BAND, band=100.0, max_position=4_000.0), -2_000.0, NO_RAILS,
         {"hedge_position": 4_000.0}, 0.0, Reason.LIMIT),
        (BAND, 1_000.0, Rails(reduce_only=True), {}, 0.0, Reason.REDUCE_ONLY),
        (BAND, -1_000.0, Rails(reduce_only=True), {"hedge_position": -3_000.0}, 1_000.0,
         Reason.SIGNAL),
        (BAND, 1_000.0, Rails(throttled=True), {}, 0.0, Reason.THROTTLED),
        # $100 spot: 1,000 shares are $100,000; 200,000 used of 250,000 a minute
        (HedgePolicy(mode=Mode.BAND, band=100.0, max_notional_per_min=250_000.0), 1_000.0,
         Rails(notional_used=200_000.0), {}, 0.0, Reason.NOTIONAL_LIMIT),
        (HedgePolicy(mode=Mode.BAND, band=100.0, max_notional_per_min=250_000.0), 1_000.0,
         Rails(notional_used=150_000.0), {}, -1_000.0, Reason.SIGNAL),
        (BAND, 6_000.0, NO_RAILS, {}, -6_000.0, Reason.SIGNAL),
    ],
)
def test_each_reason_by_hand(policy, delta, rails, kw, order, reason):
    assert one(policy, delta, rails, **kw) == (order, reason)


def test_the_checks_come_in_the_contracts_order():
    # halted beats stale beats a throttle; off beats everything
    assert one(BAND, 5_000.0, Rails(halted=True, stale=True, throttled=True))[1] is Reason.HALTED
    assert one(BAND, 5_000.0, Rails(stale=True, throttled=True))[1] is Reason.STALE
    assert one(HedgePolicy(), 5_000.0, Rails(halted=True), valued=False)[1] is Reason.OFF
    # inside the band is said even while a clip is pending or the throttle is full
    assert one(BAND, 50.0, Rails(clip_pending=True, throttled=True))[1] is Reason.INSIDE_BAND


def test_pending_counts_in_net_so_the_same_exposure_is_not_hedged_twice():
    d = decide(BAND, SPEC, delta=6_000.0, pending=-6_000.0, spot=100.0, as_of=T0)
    assert (d.orders[0], Reason(d.reasons[0]), d.net[0]) == (0.0, Reason.INSIDE_BAND, 0.0)


def test_max_order_clips_and_says_so():
    policy = HedgePolicy(mode=Mode.BAND, band=100.0, max_order=2_500.0, max_position=4_000.0)
    d = decide(policy, SPEC, delta=6_000.0, spot=100.0, as_of=T0)
    assert (d.orders[0], d.wanted[0], bool(d.clipped[0])) == (-2_500.0, -6_000.0, True)
    assert Breach(d.breach[0]) is Breach.WANTED_BEYOND_LIMIT
    assert d.notional[0] == 250_000.0


def test_orders_are_in_the_hedge_instruments_lots():
    es = HedgeSpec("ES", multiplier=50.0, lot_size=2.0)
    d = decide(BAND, es, delta=12_600.0, spot=4_500.0, as_of=T0)
    assert d.orders[0] == -252.0  # 12,600 / 50 = 252 contracts, 126 lots of 2


def test_whalley_wilmott_band_falls_back_to_the_fixed_band_without_gamma():
    policy = HedgePolicy(mode=Mode.WHALLEY_WILMOTT, band=50.0)
    d = decide(policy, SPEC, delta=100.0, spot=100.0, as_of=T0, gamma=np.array([382.0, 0.0]))
    assert d.half_width[0] == pytest.approx(12.98392, rel=1e-6) and d.half_width[1] == 50.0
    assert d.orders.tolist() == [-87.0, -50.0]  # to the nearer edge


def test_many_elements_in_one_call_each_with_its_own_rails():
    halted = np.array([False, True, False, False])
    d = decide(BAND, SPEC, delta=np.array([6_000.0, 6_000.0, 50.0, -600.0]), spot=100.0,
               as_of=T0, rails=Rails(halted=halted))
    assert d.orders.tolist() == [-6_000.0, 0.0, 0.0, 600.0]
    assert [Reason(r).label for r in d.reasons] == ["signal", "halted", "inside_band", "signal"]


def test_interval_slots_live_rule_and_the_backtesters_grid():
    policy = HedgePolicy(mode=Mode.INTERVAL, interval_s=60.0, min_order=1.0)
    first = decide(policy, SPEC, delta=500.0, spot=100.0, as_of=T0 + 7.0)
    assert first.last_check[0] == T0 + 7.0  # live: the first check anchors the grid
    late = decide(policy, SPEC, delta=500.0, spot=100.0, as_of=T0 + 130.0,
                  last_check=first.last_check)
    assert late.last_check[0] == T0 + 127.0  # a late tick keeps the grid
    grid = decide(policy, SPEC, delta=500.0, spot=100.0, as_of=T0 + 7.0, schedule_origin=T0)
    assert grid.last_check[0] == T0  # backtest: slots counted from the origin
    skipped = decide(policy, SPEC, delta=0.0, spot=100.0, as_of=T0 + 200.0,
                     last_check=T0 + 7.0)
    assert Reason(skipped.reasons[0]) is Reason.BELOW_MIN_ORDER
    assert skipped.last_check[0] == T0 + 187.0  # a due check takes its slot, trade or not


def test_reason_labels_are_the_policy_views_names():
    assert [r.label for r in Reason] == [
        "signal", "off", "no_spot", "halted", "system_halt", "stale", "interval_not_due",
        "inside_band", "below_min_order", "clip_pending", "limit", "reduce_only", "throttled",
        "notional_limit", "netted"]


def test_only_one_dimensional_elements():
    with pytest.raises(ValueError, match="1-D"):
        decide(BAND, SPEC, delta=np.zeros((2, 2)), spot=100.0, as_of=T0)


policies = st.builds(
    HedgePolicy,
    mode=st.sampled_from(list(Mode)),
    target_delta=st.sampled_from([0.0, 150.0, -40.0]),
    band=st.sampled_from([0.0, 10.0, 250.0]),
    rebalance_to=st.sampled_from([None, RebalanceTo.TARGET, RebalanceTo.EDGE]),
    interval_s=st.sampled_from([1.0, 30.0, 90.0]),
    min_order=st.sampled_from([1.0, 5.0, 100.0]),
    max_order=st.sampled_from([None, 50.0, 400.0]),
    max_position=st.sampled_from([None, 300.0, 2_000.0]),
    max_notional_per_min=st.sampled_from([None, 50_000.0]),
    reduce_only=st.booleans(),
)


@settings(max_examples=80, deadline=None)
@given(policy=policies, lot=st.sampled_from([1.0, 10.0]), seed=st.integers(0, 2**16))
def test_the_live_one_element_call_is_the_vectorized_decision(
    policy: HedgePolicy, lot: float, seed: int
) -> None:
    """`Decider.one` (the engine's call, its own packing) and `decide` over many elements
    give the same decision element by element: the same kernel, the same inputs."""
    rng = np.random.default_rng(seed)
    n = 40
    spec = HedgeSpec("XYZ", multiplier=float(rng.choice([1.0, 100.0])), lot_size=lot)
    flags = {k: rng.random(n) < 0.15 for k in ("halted", "system_halt", "stale", "clip_pending",
                                               "reduce_only", "throttled")}
    figures = {
        "valued": rng.random(n) < 0.95,
        "delta": rng.normal(0, 3_000, n),
        "spot": rng.uniform(20, 200, n),
        "as_of": T0 + rng.uniform(0, 200, n),
        "hedge_position": rng.normal(0, 1_500, n),
        "pending": rng.normal(0, 100, n) * (rng.random(n) < 0.3),
        "gamma": rng.normal(0, 300, n),
        "tau": rng.uniform(0, 1, n),
        "last_check": np.where(rng.random(n) < 0.5, math.nan, T0 + rng.uniform(-100, 100, n)),
    }
    used = rng.uniform(0, 60_000, n)
    d = decide(policy, spec, **figures, rails=Rails(**flags, notional_used=used), rate=0.02)
    decider = Decider()
    for i in range(n):
        o = decider.one(policy, spec, 0.02, **{k: v[i].item() for k, v in figures.items()},
                        **{k: bool(v[i]) for k, v in flags.items()},
                        notional_used=float(used[i]))
        got = (o.reason, o.order, o.net, o.half_width, o.last_check, o.wanted, o.clipped,
               o.breach, o.notional)
        want = (Reason(d.reasons[i]), d.orders[i], d.net[i], d.half_width[i], d.last_check[i],
                d.wanted[i], bool(d.clipped[i]), Breach(d.breach[i]), d.notional[i])
        np.testing.assert_equal(got, want)
