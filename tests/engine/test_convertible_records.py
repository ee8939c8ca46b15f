"""A convertible in the journal and the snapshot: recorded whole, decoded the same; records
written before convertibles existed still decode."""

from __future__ import annotations

from app.codec import dumps, loads
from app.domain import Fill, instrument_from_fields
from app.engine.command_codec import decode, encode, instrument_of_record, instrument_record
from app.engine.commands import LoadPositions, PositionItem, RecordFill

BOND = instrument_from_fields("CB", {
    "type": "convertible", "underlying": "XYZ", "conversion_ratio": 8.0,
    "maturity": "2029-06-01", "coupon_rate": 0.02, "credit_spread": 0.03,
    "call_schedule": [{"from": "2027-06-01", "to": "2029-06-01", "price": 1050.0,
                       "trigger": 1.3}],
    "put_schedule": [{"date": "2028-06-01", "price": 1000.0}]})


def test_a_convertible_round_trips_through_its_record():
    assert instrument_of_record(loads(dumps(instrument_record(BOND)))) == BOND
    load = LoadPositions((PositionItem(BOND, 10.0),))
    kind, body = encode(load)
    assert decode(kind, loads(dumps(body))) == load
    fill = RecordFill(Fill("E1", "CB", "buy", 5.0, 990.0, 1_780_000_000.0), BOND)
    kind, body = encode(fill)
    assert decode(kind, loads(dumps(body))) == fill


def test_records_from_before_convertibles_still_decode():
    old = {"symbol": "XYZ   270219C00098000", "type": "call", "underlying": "XYZ",
           "strike": 98.0, "expiry": 1_803_070_800.0, "multiplier": 100.0, "style": None}
    inst = instrument_of_record(old)
    assert inst.is_option and inst.convertible is None
    assert instrument_record(inst) == old  # and written the same way
    body = {"positions": [{"symbol": "XYZ", "quantity": 5.0}]}  # before instruments whole
    [item] = decode("positions", body).positions  # type: ignore[union-attr]
    assert item.instrument.is_linear and item.quantity == 5.0
