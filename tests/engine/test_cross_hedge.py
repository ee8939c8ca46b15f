"""Cross-hedges through the core: an index book hedged with a future and with a beta proxy;
underlyings sharing one hedge instrument."""

from __future__ import annotations

import pytest

from app.domain import Fill, HedgeSpec, ManualClock, Tick, instrument_from_fields
from app.engine.commands import NewFill
from app.engine.core import Core
from app.hedging import HedgePolicy, Mode

T0 = 1_795_000_000.0


def index_book(spec: HedgeSpec, underlying: str = "SPX", strike: float = 5000.0) -> Core:
    core = Core(ManualClock(T0))
    core.set_underlying(underlying, rate=0.0, div_yield=0.0, vol=0.2, hedge=spec)
    call = instrument_from_fields(f"{underlying}-C", {
        "type": "call", "underlying": underlying, "strike": strike, "expiry": "2027-03-19"})
    core.load_positions([(call, 100.0)])
    core.set_policy(underlying, HedgePolicy(mode=Mode.BAND, band=0, min_order=1))
    return core


def tick(core: Core, symbol: str, price: float) -> list:
    core.clock.advance(1)  # type: ignore[attr-defined]
    now = core.clock.now()
    u = core.apply_tick(Tick(symbol, now, now, price=price))
    return core.recompute(u)


def fill(core: Core, sig, exec_id: str) -> None:
    f = Fill(exec_id, sig.instrument, sig.side, sig.quantity, 5000.0, core.clock.now(), sig.id)
    fields = {"type": "future", "multiplier": 50}
    inst = instrument_from_fields(sig.instrument, fields)
    core.execute(core.resolve_fill(NewFill(f, inst, frozenset(fields), "")))
    core.recompute_all(list(core.dirty))


@pytest.mark.parametrize("ratio", [1.0, 1.2])
def test_an_index_book_hedged_in_a_future_trades_contracts(ratio):
    core = index_book(HedgeSpec("ES", multiplier=50.0, ratio=ratio))
    [sig] = tick(core, "SPX", 5000.0)
    delta = core.risk["SPX"].delta
    assert delta == pytest.approx(100 * 100 * core.risk["SPX"].options.unit[1][0])
    assert sig.instrument == "ES"
    assert sig.order_qty == -round(delta / (50 * ratio))
    fill(core, sig, "F1")
    r = core.risk["SPX"]
    assert r.hedge_position == sig.order_qty and r.pending == 0
    assert r.delta == pytest.approx(delta + sig.order_qty * 50 * ratio)
    assert abs(r.delta) <= 50 * ratio / 2


def test_underlyings_sharing_a_future_net_before_the_order_and_split_the_fill():
    core = Core(ManualClock(T0))
    es = HedgeSpec("ES", multiplier=50.0)
    for u in ("SPX", "SPY5"):
        core.set_underlying(u, rate=0.0, div_yield=0.0, vol=0.2, hedge=es)
        core.set_policy(u, HedgePolicy(mode=Mode.BAND, band=0))
    long_calls = instrument_from_fields("SPX-C", {"type": "call", "underlying": "SPX",
                                                   "strike": 5000, "expiry": "2027-03-19"})
    long_puts = instrument_from_fields("SPY5-P", {"type": "put", "underlying": "SPY5",
                                                   "strike": 5000, "expiry": "2027-03-19"})
    core.load_positions([(long_calls, 10.0), (long_puts, 20.0)])
    assert tick(core, "SPX", 5000.0) != []  # SPX alone is valued: it hedges alone
    first = core.hedger.signals[next(iter(core.hedger.signals))]
    core.cancel(first.signal_id)
    sigs = tick(core, "SPY5", 5000.0)  # now both valued: their needs net
    [sig] = sigs
    spx, spy = core.risk["SPX"].delta, core.risk["SPY5"].delta
    want_spx, want_spy = -round(spx / 50), -round(spy / 50)
    assert want_spx < 0 < want_spy
    assert sig.order_qty == want_spx + want_spy
    fill(core, sig, "F1")
    assert core.book.quantity("ES") == sig.order_qty
    assert core.risk["SPX"].hedge_position == pytest.approx(want_spx)
    assert core.risk["SPY5"].hedge_position == pytest.approx(want_spy)
