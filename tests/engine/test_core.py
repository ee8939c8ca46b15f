"""The synchronous core: the worked example, pending accounting, desk units."""

from __future__ import annotations

import math

import pytest

from app.domain import Fill, ManualClock, Tick, instrument_from_fields
from app.engine.commands import NewFill
from app.engine.core import Core
from app.errors import InvalidInput, UnknownSymbol
from app.hedging import HedgePolicy, Mode
from app.pricing import greeks

T0 = 1_795_000_000.0  # 2026-11-18T... UTC
EXPIRY = "2027-02-19"
STRIKE = 98.0
CALL = "XYZ   270219C00098000"


def make_core(policy: HedgePolicy | None = None, quantity: float = 100.0) -> Core:
    core = Core(ManualClock(T0))
    core.set_underlying("XYZ", rate=0.0, div_yield=0.0, vol=0.2)
    core.load_positions([(instrument_from_fields(CALL, {}), quantity)])
    core.set_policy("XYZ", policy or HedgePolicy(mode=Mode.BAND, band=100.0))
    core.recompute_all(list(core.dirty))
    return core


def tick(core: Core, price: float, dt: float = 1.0) -> list:
    clock = core.clock
    assert isinstance(clock, ManualClock)
    clock.advance(dt)
    core.apply_tick(Tick("XYZ", clock.now(), clock.now(), price=price))
    return core.recompute("XYZ")


def model_delta(core: Core, spot: float) -> float:
    inst = core.book.instrument(CALL)
    assert inst is not None and inst.expiry is not None
    t = (inst.expiry - core.clock.now()) / (365 * 86400)
    return float(greeks("call", spot, STRIKE, t, 0.2, 0.0)["delta"])


def fill(core: Core, exec_id: str, signal, quantity: float | None = None) -> None:
    qty = signal.quantity if quantity is None else quantity
    f = Fill(exec_id, "XYZ", signal.side, qty, 100.0, core.clock.now(), signal.id)
    core.execute(core.resolve_fill(NewFill(f, None, frozenset(), "")))
    core.recompute_all(list(core.dirty))


def test_worked_example_first_tick_sells_the_book_delta_then_the_move():
    core = make_core()
    [first] = tick(core, 100.0)
    delta = model_delta(core, 100.0)
    assert 0.55 < delta < 0.65
    assert first.order_qty == -round(100 * 100 * delta)
    assert first.side == "sell" and first.quantity == round(100 * 100 * delta)
    assert first.reason == "band" and first.seq == 1
    fill(core, "e1", first)
    assert core.book.quantity("XYZ") == first.order_qty
    assert core.risk["XYZ"].pending == 0
    [second] = tick(core, 102.0)
    delta2 = model_delta(core, 102.0)
    expected = -round(100 * 100 * delta2 + first.order_qty)
    assert second.order_qty == expected
    assert -900 < second.order_qty < -400
    assert second.seq == 2


def test_a_second_tick_before_the_fill_sends_no_duplicate():
    core = make_core()
    [first] = tick(core, 100.0)
    assert tick(core, 100.01) == []
    assert core.risk["XYZ"].pending == first.order_qty
    assert core.hedger.state("XYZ").last_decision == "inside_band"


def test_a_partial_fill_leaves_the_rest_pending():
    core = make_core()
    [first] = tick(core, 100.0)
    fill(core, "e1", first, quantity=2000)
    assert core.risk["XYZ"].pending == first.order_qty + 2000
    assert core.risk["XYZ"].hedge_position == -2000
    assert tick(core, 100.0) == []


def test_cancel_releases_the_pending_and_the_next_tick_hedges_again():
    core = make_core()
    [first] = tick(core, 100.0)
    core.cancel(first.id)
    core.recompute_all(list(core.dirty))
    assert core.risk["XYZ"].pending == 0
    [again] = tick(core, 100.0)
    assert again.order_qty == first.order_qty


def test_pending_ttl_expiry_releases_it():
    core = make_core(HedgePolicy(mode=Mode.BAND, band=100.0, pending_ttl_s=30))
    [first] = tick(core, 100.0)
    assert tick(core, 100.0, dt=29.0) == []
    core.clock.advance(2.0)  # type: ignore[attr-defined]
    assert core.expire_pending() == {"XYZ"}
    assert core.risk["XYZ"].pending == 0
    [again] = tick(core, 100.0, dt=0.0)
    assert again.order_qty == first.order_qty


def test_risk_is_greeks_times_quantity_times_multiplier_in_desk_units():
    core = make_core(HedgePolicy())
    tick(core, 101.0)
    r = core.risk["XYZ"]
    inst = core.book.instrument(CALL)
    t = (inst.expiry - core.clock.now()) / (365 * 86400)
    g = greeks("call", 101.0, STRIKE, t, 0.2, 0.0)
    size = 100 * 100
    assert r.delta == pytest.approx(float(g["delta"]) * size, rel=1e-12)
    assert r.gamma == pytest.approx(float(g["gamma"]) * size, rel=1e-12)
    assert r.vega == pytest.approx(float(g["vega"]) * size * 0.01, rel=1e-12)
    assert r.theta == pytest.approx(float(g["theta"]) * size / 365, rel=1e-12)
    assert r.rho == pytest.approx(float(g["rho"]) * size * 0.01, rel=1e-12)
    assert r.dollar_delta == pytest.approx(r.delta * 101.0)
    assert r.dollar_gamma == pytest.approx(r.gamma * 101.0**2 * 0.01)


def test_an_underlying_is_not_valued_before_it_has_a_spot():
    core = make_core()
    assert core.risk["XYZ"].delta is None
    assert core.hedger.state("XYZ").last_decision == "no_spot"


def test_a_put_spot_values_the_underlying_at_the_put_time():
    core = make_core(HedgePolicy())
    core.set_underlying("XYZ", rate=0.0, div_yield=0.0, vol=0.2, spot=100.0)
    core.recompute("XYZ")
    assert core.risk["XYZ"].as_of == T0
    assert core.risk["XYZ"].delta == pytest.approx(model_delta(core, 100.0) * 10_000)


def test_an_older_tick_is_rejected_and_changes_nothing():
    core = make_core()
    tick(core, 100.0)
    before = core.book.markets["XYZ"].spot
    with pytest.raises(InvalidInput) as err:
        core.apply_tick(Tick("XYZ", T0 - 10, T0, price=90.0))
    assert err.value.field == "ts"
    assert core.book.markets["XYZ"].spot == before


def test_a_tick_far_ahead_of_the_clock_is_rejected():
    core = make_core()
    with pytest.raises(InvalidInput) as err:
        core.apply_tick(Tick("XYZ", T0 + 60, T0, price=90.0))
    assert err.value.field == "ts"


def test_a_tick_for_an_unknown_symbol_is_404_material():
    core = make_core()
    with pytest.raises(UnknownSymbol):
        core.apply_tick(Tick("NOPE", T0, T0, price=1.0))


def test_an_option_tick_with_iv_overrides_the_flat_vol():
    core = make_core(HedgePolicy())
    tick(core, 100.0)
    core.apply_tick(Tick("XYZ270219C00098000", T0 + 1, T0 + 1, iv=0.3))
    core.recompute("XYZ")
    rows = core.risk["XYZ"].options
    assert rows is not None and rows.iv[0] == 0.3


def test_an_option_quote_implies_its_vol_from_the_mid():
    core = make_core(HedgePolicy())
    tick(core, 100.0)
    inst = core.book.instrument(CALL)
    t = (inst.expiry - core.clock.now()) / (365 * 86400)
    price = float(greeks("call", 100.0, STRIKE, t, 0.35, 0.0)["price"])
    core.apply_tick(Tick(CALL, core.clock.now(), core.clock.now(), bid=price - 0.05,
                         ask=price + 0.05))
    core.recompute("XYZ")
    assert core.risk["XYZ"].options.iv[0] == pytest.approx(0.35, abs=1e-6)


def test_an_expired_option_has_intrinsic_value_and_unit_delta():
    core = make_core(HedgePolicy())
    inst = core.book.instrument(CALL)
    core.clock.advance(inst.expiry - T0 + 3600)  # type: ignore[attr-defined]
    core.apply_tick(Tick("XYZ", core.clock.now(), core.clock.now(), price=110.0))
    core.recompute("XYZ")
    r = core.risk["XYZ"]
    assert r.delta == pytest.approx(10_000)
    assert r.gamma == 0 and r.vega == 0
    assert r.options.unit[0][0] == pytest.approx(12.0)
    assert math.isfinite(r.theta)


def test_a_fat_finger_print_is_held_until_confirmed_then_the_latest_applies():
    core = make_core(HedgePolicy())
    tick(core, 100.0)
    tick(core, 150.0)  # 50 % away: held
    assert core.book.markets["XYZ"].spot == 100.0
    tick(core, 151.0)
    assert core.book.markets["XYZ"].spot == 100.0
    tick(core, 152.0)  # the third print at the new level: confirmed
    assert core.book.markets["XYZ"].spot == 152.0
    assert core.jump_filters["XYZ"].counts["confirm"] == 1


def test_a_fat_finger_print_is_dropped_when_the_market_returns():
    core = make_core(HedgePolicy())
    tick(core, 100.0)
    tick(core, 1000.0)
    tick(core, 100.5)
    assert core.book.markets["XYZ"].spot == 100.5
    assert core.jump_filters["XYZ"].counts["dropped"] == 1
    tick(core, 150.0)
    tick(core, 50.0)  # a jump the other way starts over
    assert core.book.markets["XYZ"].spot == 100.5


@pytest.mark.parametrize("symbol", ["XYZ   270219C00030000", "XYZ   270219P00300000"])
def test_a_deep_in_the_money_quote_carries_no_vol_information_and_keeps_the_vol(symbol):
    core = make_core()
    tick(core, 100.0)
    kind = symbol[12]
    inst = instrument_from_fields(symbol, {})
    t = (inst.expiry - core.clock.now()) / (365 * 86400)
    true = greeks("call" if kind == "C" else "put", 100.0, inst.strike, t, 0.3, 0.0)
    price = float(true["price"])
    with pytest.raises(InvalidInput) as err:
        core.apply_tick(Tick(symbol, core.clock.now(), core.clock.now(), bid=price, ask=price))
    assert "no_vol_information" in err.value.reason and err.value.field == "bid"
    assert symbol not in core.book.markets["XYZ"].option_ivs  # the flat vol is kept
