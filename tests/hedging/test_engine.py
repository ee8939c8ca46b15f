"""The hedge engine, one table per policy and per rail; quantities worked by hand."""

from __future__ import annotations

import pytest

from app.book import UnderlyingRisk
from app.domain import HedgeSpec, ManualClock
from app.errors import Conflict
from app.hedging import HedgeEngine, HedgePolicy, Mode, RebalanceTo

T0 = 1_800_000_000.0
SPEC = HedgeSpec("XYZ")


def risk(delta: float, *, gamma: float = 0.0, spot: float = 100.0, hedge: float = 0.0,
         as_of: float = T0, u: str = "XYZ") -> UnderlyingRisk:
    # `delta` counts the hedge position already (as the book's does)
    return UnderlyingRisk(u, spot, as_of, delta, gamma, 0.0, 0.0, 0.0, hedge, 0.0, 0.25)


def engine(**policy: object) -> HedgeEngine:
    e = HedgeEngine(ManualClock(T0))
    e.set_policy("XYZ", HedgePolicy.from_mapping({"mode": "band", **policy}))
    return e


def decide(e: HedgeEngine, r: UnderlyingRisk, spec: HedgeSpec = SPEC,
           received: float | None = T0):
    return e.decide(r, spec, received)


@pytest.mark.parametrize(
    ("policy", "delta", "order"),
    [
        ({"band": 500}, 6000.0, -6000.0),
        ({"band": 500, "rebalance_to": "edge"}, 6000.0, -5500.0),
        ({"band": 500}, -600.0, 600.0),
        ({"band": 500}, 499.0, None),
        ({"band": 100, "target_delta": 2000}, 6000.0, -4000.0),
        ({"band": 100, "target_delta": 2000, "rebalance_to": "edge"}, 6000.0, -3900.0),
        ({"band": 0, "min_order": 100}, 60.0, None),
        ({"band": 0, "min_order": 100}, 160.0, -160.0),
        ({"mode": "off"}, 6000.0, None),
    ],
)
def test_band_policy(policy, delta, order):
    sig = decide(engine(**policy), risk(delta))
    assert (sig.order_qty if sig else None) == order


def test_band_policy_inside_band_sends_nothing_and_says_why():
    e = engine(band=500)
    assert decide(e, risk(100.0)) is None
    st = e.state("XYZ")
    assert st.last_decision == "inside_band" and st.quiet["inside_band"] == 1
    assert st.band == 500 and st.net_delta == 100.0


def test_interval_policy_rebalances_every_interval_of_event_time():
    e = engine(mode="interval", interval_s=60, min_order=10)
    first = decide(e, risk(300.0, as_of=T0))
    assert first is not None and first.order_qty == -300 and first.reason == "interval"
    e.cancel(first.id)
    assert decide(e, risk(300.0, as_of=T0 + 59)) is None
    assert e.state("XYZ").last_decision == "interval_not_due"
    again = decide(e, risk(300.0, as_of=T0 + 60))
    assert again is not None and again.order_qty == -300
    e.cancel(again.id)
    assert decide(e, risk(5.0, as_of=T0 + 120)) is None  # gap under min_order
    assert e.state("XYZ").last_decision == "below_min_order"


def test_interval_policy_with_edge_is_not_banded_but_target():
    e = engine(mode="interval", interval_s=1, rebalance_to="edge", band=100)
    sig = decide(e, risk(300.0))
    assert sig is not None and sig.order_qty == -300


@pytest.mark.parametrize(
    ("gamma", "delta", "order"),
    [
        (382.0, 100.0, -87.0),  # H = 12.98 shares → to the edge 12.98 → −87.02 → −87
        (382.0, 10.0, None),  # inside H
        (382.0, -100.0, 87.0),
        (0.0, 100.0, -50.0),  # no gamma: the fixed band (50) and its edge
    ],
)
def test_whalley_wilmott_policy_trades_to_the_band_edge(gamma, delta, order):
    e = engine(mode="whalley_wilmott", cost_per_share=0.01, risk_aversion=1.0, band=50)
    sig = e.decide(risk(delta, gamma=gamma), SPEC, T0, 0.0)
    assert (sig.order_qty if sig else None) == order


def test_whalley_wilmott_band_on_the_policy_view():
    e = engine(mode="whalley_wilmott", cost_per_share=0.01, risk_aversion=1.0)
    e.decide(risk(0.0, gamma=382.0), SPEC, T0, 0.0)
    assert e.state("XYZ").band == pytest.approx(12.983924903774984)


def test_max_order_splits_and_sends_the_rest_after_the_fill():
    e = engine(band=100, max_order=2500)
    s1 = decide(e, risk(6000.0))
    assert s1.order_qty == -2500
    assert decide(e, risk(6000.0)) is None
    assert e.state("XYZ").last_decision == "clip_pending"
    e.on_fill(s1.id, -2500)
    s2 = decide(e, risk(3500.0, hedge=-2500))
    assert s2.order_qty == -2500
    e.on_fill(s2.id, -2500)
    s3 = decide(e, risk(1000.0, hedge=-5000))
    assert s3.order_qty == -1000 and s3.target_position == -6000


def test_max_order_rest_goes_after_expiry_too():
    e = engine(band=100, max_order=2500, pending_ttl_s=30)
    assert decide(e, risk(6000.0)).order_qty == -2500
    e.clock.advance(31)  # type: ignore[attr-defined]
    e.expire()
    s2 = decide(e, risk(6000.0), received=T0 + 31)
    assert s2.order_qty == -2500


def test_max_position_caps_the_signal_and_reports_the_breach():
    e = engine(band=100, max_position=4000)
    sig = decide(e, risk(6000.0))
    assert sig.order_qty == -4000 and sig.target_position == -4000
    assert "max_position" in e.state("XYZ").breach


def test_position_beyond_the_limit_halts_unless_reduce_only_and_shrinking():
    over = risk(2000.0, hedge=5000.0)  # long 5000 hedge units, max 4000; wants to sell 2000
    e = engine(band=100, max_position=4000)
    assert decide(e, over) is None and e.state("XYZ").last_decision == "limit"
    e2 = engine(band=100, max_position=4000, reduce_only=True)
    sig = decide(e2, over)
    assert sig is not None and sig.order_qty == -2000 and sig.target_position == 3000
    e3 = engine(band=100, max_position=4000, reduce_only=True)
    assert decide(e3, risk(-2000.0, hedge=5000.0)) is None  # buying more: still the limit
    assert e3.state("XYZ").last_decision == "limit"
    e2.halt("XYZ")  # a manual halt stops even a reduce-only policy
    e2.cancel(sig.id)
    assert decide(e2, over) is None and e2.state("XYZ").last_decision == "halted"


def test_throttle_signals_per_second():
    e = engine(band=0, max_signals_per_s=2)
    for _ in range(2):
        sig = decide(e, risk(1000.0))
        e.cancel(sig.id)
    assert decide(e, risk(1000.0)) is None
    assert e.state("XYZ").last_decision == "throttled"
    e.clock.advance(1.0)  # type: ignore[attr-defined]
    assert decide(e, risk(1000.0), received=T0 + 1) is not None


def test_throttle_notional_per_minute():
    e = engine(band=0, max_notional_per_min=250_000)  # $100 spot: 2,500 shares a minute
    s1 = decide(e, risk(2000.0))
    assert s1.order_qty == -2000
    e.on_fill(s1.id, -2000)
    assert decide(e, risk(1000.0, hedge=-2000)) is None
    assert e.state("XYZ").last_decision == "notional_limit"
    e.clock.advance(60.0)  # type: ignore[attr-defined]
    assert decide(e, risk(1000.0, hedge=-2000), received=T0 + 60).order_qty == -1000


def test_stale_data_sends_nothing():
    e = engine(band=0, stale_after_s=5)
    assert decide(e, risk(1000.0), received=T0 - 6) is None
    assert e.state("XYZ").last_decision == "stale"
    assert decide(e, risk(1000.0), received=T0 - 4) is not None


def test_kill_switch_holds_signals_keeps_pending():
    e = engine(band=0)
    sig = decide(e, risk(1000.0))
    e.halt(None)
    assert decide(e, risk(3000.0)) is None and e.state("XYZ").last_decision == "halted"
    assert e.pending("XYZ") == sig.order_qty
    with pytest.raises(Conflict):
        e.manual(risk(3000.0), SPEC, 10.0, None)
    e.resume(None)
    assert decide(e, risk(3000.0)).order_qty == -2000


def test_reduce_only_reasons_pass_only_shrinking_orders():
    e = engine(band=0)
    e.state("XYZ").reduce_only_reasons.add("reconcile")
    assert decide(e, risk(1000.0)) is None and e.state("XYZ").last_decision == "reduce_only"
    assert decide(e, risk(1000.0, hedge=-3000)) is None  # selling more grows the short
    sig = decide(e, risk(-1000.0, hedge=-3000))
    assert sig.order_qty == 1000


def test_every_quiet_decision_is_counted_per_reason():
    e = engine(band=500)
    for d in (100.0, 200.0, 300.0):
        decide(e, risk(d))
    decide(e, risk(1000.0), received=None)
    assert e.state("XYZ").quiet["inside_band"] == 3


def test_shared_hedge_instrument_nets_needs_into_one_allocated_signal():
    spec = HedgeSpec("ES", multiplier=50.0)
    e = HedgeEngine(ManualClock(T0))
    for u in ("SPX", "NDX"):
        e.set_policy(u, HedgePolicy(mode=Mode.BAND, band=10, rebalance_to=RebalanceTo.TARGET))
    users = [(risk(-1000.0, u="SPX"), spec, T0, 0.0), (risk(400.0, u="NDX"), spec, T0, 0.0)]
    sig = e.decide_shared(users, "SPX")
    # SPX wants +20 contracts, NDX −8: one order of +12, never two opposite ones
    assert sig is not None and sig.order_qty == 12 and sig.instrument == "ES"
    assert e.pending("SPX") == 20 and e.pending("NDX") == -8
    order = e.signals[sig.id]
    assert order.allocate(6.0) == {"SPX": 10.0, "NDX": -4.0}
    e.on_fill(sig.id, 6.0)
    assert e.pending("SPX") == 10 and e.pending("NDX") == -4


def test_shared_needs_that_cancel_send_nothing():
    spec = HedgeSpec("ES", multiplier=50.0)
    e = HedgeEngine(ManualClock(T0))
    for u in ("SPX", "NDX"):
        e.set_policy(u, HedgePolicy(mode=Mode.BAND, band=10))
    users = [(risk(-400.0, u="SPX"), spec, T0, 0.0), (risk(400.0, u="NDX"), spec, T0, 0.0)]
    assert e.decide_shared(users, "SPX") is None
    assert e.state("SPX").last_decision == "netted"
