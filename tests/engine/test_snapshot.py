"""A snapshot restores the same state: the same risk, pending and hedge allocation."""

from __future__ import annotations

import pytest

from app.codec import dumps, loads
from app.domain import HedgeSpec, ManualClock, Tick, instrument_from_fields
from app.engine.core import Core
from app.engine.snapshot import capture, restore
from app.hedging import HedgePolicy, Mode

T0 = 1_795_000_000.0


def test_a_restored_snapshot_values_the_book_the_same_linear_positions_included():
    core = Core(ManualClock(T0))
    core.set_underlying("XYZ", rate=0.01, div_yield=0.0, vol=0.2,
                        hedge=HedgeSpec("XYZF", multiplier=10))
    core.set_policy("XYZ", HedgePolicy(mode=Mode.BAND, band=50))
    call = instrument_from_fields("XYZ   270219C00098000", {})
    future = instrument_from_fields("XYZ-DEC", {"type": "future", "multiplier": 10,
                                                "underlying": "XYZ"})
    hedge = instrument_from_fields("XYZF", {"type": "future", "multiplier": 10,
                                            "underlying": "XYZ"})
    core.load_positions([(call, 100.0), (future, 30.0), (hedge, -200.0)])
    core.apply_tick(Tick("XYZ", T0, T0, price=101.0))
    signals = core.recompute("XYZ")
    before = core.value("XYZ")
    assert any(sym == "XYZ-DEC" for sym, _, _ in before.linear)

    fresh = Core(ManualClock(T0))
    restore(fresh, loads(dumps(capture(core))))
    after = fresh.value("XYZ")
    assert after.delta == pytest.approx(before.delta, rel=1e-12)
    assert after.gamma == pytest.approx(before.gamma, rel=1e-12)
    assert after.linear == before.linear
    assert after.hedge_position == before.hedge_position == -200.0
    assert fresh.hedger.pending("XYZ") == core.hedger.pending("XYZ")
    assert fresh.hedger.next_seq == core.hedger.next_seq == 1 + len(signals)
