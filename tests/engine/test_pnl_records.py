"""P&L in the journal: new records round-trip, records written before P&L still decode, and a
snapshot brings the desk back whole."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.domain import Fill, ManualClock, Tick, instrument_from_fields
from app.engine.command_codec import decode, encode
from app.engine.commands import (
    LoadPositions,
    PositionItem,
    RecordFill,
    RollDay,
    SetMarks,
    SetUnderlying,
    SignalSent,
)
from app.engine.core import Core
from app.engine.read import ReadModel
from app.engine.snapshot import capture, restore

CALL = "XYZ   270219C00098000"
T0 = 1_795_000_000.0


def roundtrip(cmd):  # type: ignore[no-untyped-def]
    kind, body = encode(cmd)
    return decode(kind, json.loads(json.dumps(body)))


def test_new_records_round_trip():
    inst = instrument_from_fields(CALL, {})
    for cmd in (
        RecordFill(Fill("e1", CALL, "buy", 2.0, 5.5, T0, None, 1.25), inst, 5.4),
        LoadPositions((PositionItem(inst, 10.0, 7.25), PositionItem(inst, 1.0))),
        SetUnderlying("XYZ", 0.01, 0.0, 0.2, T0, mark_source="mid"),
        SetMarks((("XYZ", CALL, 6.5),)),
        RollDay(T0, (("XYZ", CALL, 6.75),), json.dumps({"total": {"pnl": 1.0}})),
        SignalSent("s1", 1, "XYZ", "XYZ", 100.0, T0, spot=101.5),
    ):
        assert roundtrip(cmd) == cmd


def test_records_written_before_pnl_still_decode():
    inst = instrument_from_fields(CALL, {})
    kind, body = encode(RecordFill(Fill("e1", CALL, "buy", 2.0, 5.5, T0), inst))
    assert "fee" not in body and "reference" not in body  # a fill without them writes as before
    old = decode(kind, body)
    assert isinstance(old, RecordFill) and old.fill.fee == 0.0 and old.reference is None
    positions = decode("positions", {"positions": [{"symbol": CALL, "quantity": 3}]})
    assert isinstance(positions, LoadPositions) and positions.positions[0].mark is None
    under = decode("underlying", {"symbol": "XYZ", "rate": 0.0, "div_yield": 0.0, "vol": 0.2,
                                  "wall": T0})
    assert isinstance(under, SetUnderlying) and under.mark_source == "theo"
    signal = decode("signal", {"id": "s", "seq": 1, "underlying": "XYZ", "instrument": "XYZ",
                               "order_qty": 5, "expires_at": T0})
    assert isinstance(signal, SignalSent) and signal.spot is None


def test_a_snapshot_brings_the_desk_back_whole():
    core = Core(ManualClock(T0))
    core.set_underlying("XYZ", rate=0.0, div_yield=0.0, vol=0.2, spot=100.0, as_of=T0)
    inst = instrument_from_fields(CALL, {})
    core.load_positions([(inst, 10.0), (instrument_from_fields("XYZ", {}), -400.0)],
                        {CALL: 7.0})
    core.recompute("XYZ")
    for k, s in enumerate((100.5, 99.8, 101.2)):
        core.clock.advance(30.0)  # type: ignore[attr-defined]
        now = core.clock.now()
        core.apply_tick(Tick("XYZ", now, now, price=s))
        core.apply_fill(Fill(f"f{k}", CALL, "sell", 1.0, 7.5, now, fee=0.5), inst, 7.4)
        core.recompute("XYZ")
    before = ReadModel(core).pnl("XYZ")
    snap = json.loads(json.dumps(capture(core)))
    again = Core(ManualClock(core.clock.now()))
    again.set_underlying("XYZ", rate=0.0, div_yield=0.0, vol=0.2)
    restore(again, snap)
    again.recompute("XYZ")  # the same point: no new interval
    after = ReadModel(again).pnl("XYZ")
    for k in ("pnl", "options", "hedge", "fees", "realized", "unrealized", "trade_edge",
              "revaluation", "attribution"):
        assert after[k] == pytest.approx(before[k], rel=1e-12, abs=1e-12), k
    assert sum(after["explain"].values()) == pytest.approx(after["revaluation"], rel=1e-9)
    assert np.isclose(after["fees"], 1.5)
