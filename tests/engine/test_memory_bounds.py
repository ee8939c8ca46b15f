"""What the service keeps per signal and per fill is bounded, small, and forgetting is safe:
the remembered signals, the fill memo, the signal log and the bytes it keeps."""

from __future__ import annotations

import asyncio
import sys
import tracemalloc

import orjson

from app.adapters.journal import SqliteJournal
from app.adapters.memory_bus import MemoryBus
from app.codec import dumps, kept
from app.domain import Fill, ManualClock, instrument_from_fields
from app.engine.commands import SignalSent
from app.engine.core import Core
from app.engine.egress import Egress
from app.engine.fill_memo import DEFAULT_SIZE, FillMemo
from app.engine.metrics import Metrics
from app.hedging import PendingOrder, Signal
from app.hedging.engine import MAX_REMEMBERED_SIGNALS

T0 = 1_795_000_000.0
CALL = "XYZ   270219C00098000"


def done_order(core: Core, signal_id: str, units: float) -> PendingOrder:
    order = PendingOrder(signal_id, "XYZ", "XYZ", units, T0 + 30.0)
    core.hedger.remember(order)
    core.hedger.cancel(signal_id)  # done: nothing pending any more
    return order


def test_the_remembered_signals_stay_within_their_bound_and_a_fill_for_a_forgotten_one_still_counts():  # noqa: E501
    core = Core(ManualClock(T0))
    core.set_underlying("XYZ", rate=0.0, div_yield=0.0, vol=0.2, spot=100.0)
    core.load_positions([(instrument_from_fields(CALL, {}), 100.0)])
    first = done_order(core, "first", 5.0)
    most = 0
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(MAX_REMEMBERED_SIGNALS + 2_000):
            done_order(core, f"{i:032x}", 1.0)  # ids as long as the service's
            most = max(most, len(core.hedger.signals))
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    held = sum(d.size_diff for d in after.compare_to(before, "filename"))
    assert most <= MAX_REMEMBERED_SIGNALS + 1
    assert held < 12 * 2**20, f"{held / 2**20:.1f} MiB for the remembered signals"
    assert first.signal_id not in core.hedger.signals, "the oldest done signal was remembered"
    core.hedger.remember(PendingOrder("open", "XYZ", "XYZ", 2.0, T0 + 30.0))
    for i in range(MAX_REMEMBERED_SIGNALS + 2_000):  # a pending signal is never forgotten
        done_order(core, f"later-{i}", 1.0)
    assert "open" in core.hedger.signals and core.hedger.pending("XYZ") == 2.0

    hedge_before = core.value("XYZ").hedge_position
    late = Fill("late-1", "XYZ", "buy", 5.0, 100.0, T0, "first")  # names a forgotten signal
    outcome = core.apply_fill(late, instrument_from_fields("XYZ", {}))
    assert outcome.quantity == 5.0, "the fill did not move the position"
    assert core.value("XYZ").hedge_position == hedge_before + 5.0, "nor the hedge position"
    assert not outcome.overfill


def test_the_fill_memo_keeps_its_latest_fills_compactly_and_still_tells_a_conflict():
    memo = FillMemo(size=1_000)
    payload = orjson.dumps({"exec_id": "e0", "quantity": 1}).decode()
    memo.put("e0", payload, {"exec_id": "e0", "position": {"symbol": "XYZ", "quantity": 1.0},
                             "overfill": False})
    recalled = memo.get("e0")
    assert recalled is not None and recalled.same_fill(payload)
    assert not recalled.same_fill(payload.replace("1", "2"))
    assert recalled.answer == {"exec_id": "e0", "position": {"symbol": "XYZ", "quantity": 1.0},
                               "overfill": False}
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(1, 3_000):
            body = {"exec_id": f"lt-0000-{i:032x}", "signal_id": f"{i:032x}", "symbol": "XYZ",
                    "side": "buy", "quantity": 3.0, "price": 100.0}
            memo.put(body["exec_id"], orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode(),
                     {"exec_id": body["exec_id"], "overfill": False,
                      "position": {"symbol": "XYZ", "quantity": float(i)}})
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    per_fill = sum(d.size_diff for d in after.compare_to(before, "filename")) / len(memo)
    assert len(memo) == 1_000 and memo.get("e0") is None and not memo.complete
    assert per_fill < 450, f"{per_fill:.0f} B per remembered fill"
    assert DEFAULT_SIZE * per_fill < 25 * 2**20, "the fill memo holds over 25 MiB when full"


def test_kept_bytes_hold_their_length_not_orjsons_buffer():
    message = {"id": "a" * 32, "seq": 1, "underlying": "XYZ", "order_qty": -12.0, "spot": 100.0}
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        held = [kept(dumps(message)) for _ in range(1_000)]
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    per_message = sum(d.size_diff for d in after.compare_to(before, "filename")) / len(held)
    assert held[0] == dumps(message)
    assert per_message < 2 * sys.getsizeof(held[0]), f"{per_message:.0f} B per kept message"


async def test_a_journaled_signal_costs_the_egress_well_under_1_kb_of_memory():
    """The signal log's bytes and the journal stage's leftovers: the log held orjson's 8 KB
    buffers before."""
    journal = SqliteJournal(":memory:")
    await journal.start()
    egress = Egress(journal, MemoryBus(), Metrics(), lambda reason: None, lambda floor: None)
    await egress.start()
    n = 2_000
    signals = [Signal(f"{seq:032x}", seq, T0, "XYZ", "XYZ", -12.0, 100.0, 0.0, 1_200.0, 0.0,
                      100.0, "band") for seq in range(1, n + 1)]
    records = {s.id: SignalSent(s.id, s.seq, "XYZ", "XYZ", -12.0, T0 + 30.0) for s in signals}
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for s in signals:
            egress.emit([(s, records[s.id])])
        for _ in range(1_000):
            if egress.published_seq == n:
                break
            await asyncio.sleep(0.01)
        assert egress.published_seq == n
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
        await egress.stop()
        await journal.close()
    per_signal = sum(d.size_diff for d in after.compare_to(before, "filename")) / n
    assert per_signal < 1_000, f"{per_signal:.0f} B per signal"
