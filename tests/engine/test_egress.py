"""The egress: a bus that is down fills the backlog, which halts hedging with a reason rather
than dropping a signal; when the bus comes back every signal goes out, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.adapters.journal import SqliteJournal
from app.adapters.memory_bus import MemoryBus
from app.book import UnderlyingRisk
from app.domain import HedgeSpec, ManualClock
from app.engine.commands import SignalSent
from app.engine.egress import OUTBOX_HALT, Egress
from app.engine.metrics import Metrics
from app.engine.ports import Delivery
from app.hedging import HedgeEngine, HedgePolicy, Mode, Signal


class FlakyBus(MemoryBus):
    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.seen: list[int] = []

    async def publish_many(self, items: list[tuple[int, bytes]], refill_up_to: int) -> Delivery:
        if self.down:
            raise ConnectionError("redis down")
        self.seen += [seq for seq, _ in items]
        return await super().publish_many(items, refill_up_to)


async def test_a_full_backlog_halts_hedging_and_drains_in_order_when_the_bus_returns():
    hedger = HedgeEngine(ManualClock(1_800_000_000.0))
    hedger.set_policy("XYZ", HedgePolicy(mode=Mode.BAND, band=0, max_signals_per_s=1e9))
    journal = SqliteJournal(":memory:")
    await journal.start()
    bus = FlakyBus()
    def halt(reason: str | None) -> None:
        hedger.system_halt = reason

    def seq_floor(n: int) -> None:
        hedger.next_seq = max(hedger.next_seq, n)

    egress = Egress(journal, bus, Metrics(), halt, seq_floor, outbox_size=4)
    await egress.start()
    try:
        for i in range(4):
            r = UnderlyingRisk("XYZ", 100.0, 1.8e9, 1000.0 * (i + 1), 0, 0, 0, 0, 0.0,
                               hedger.pending("XYZ"), 0)
            sig = hedger.decide(r, HedgeSpec("XYZ"), 1.8e9)
            assert sig is not None
            egress.emit([(sig, SignalSent(sig.id, sig.seq, sig.underlying, sig.instrument,
                                          sig.order_qty, 1.8e9 + 30))])
        assert hedger.system_halt == OUTBOX_HALT  # 4 waiting: nothing more goes out
        r = UnderlyingRisk("XYZ", 100.0, 1.8e9, 9e9, 0, 0, 0, 0, 0.0, 0.0, 0)
        assert hedger.decide(r, HedgeSpec("XYZ"), 1.8e9) is None
        assert hedger.state("XYZ").last_decision == "system_halt"
        await asyncio.sleep(0.3)
        assert egress.bus_problem is not None and bus.seen == []
        assert [s for s, _ in egress.signal_log] == [1, 2, 3, 4]  # journaled and readable
        bus.down = False
        for _ in range(300):
            if bus.seen == [1, 2, 3, 4]:
                break
            await asyncio.sleep(0.01)
        assert bus.seen == [1, 2, 3, 4]
        assert hedger.system_halt is None
    finally:
        await egress.stop()
        await journal.close()


# --- what the bus took, what it announced -------------------------------------------------------

OOM = "OOM command not allowed when used memory > 'maxmemory'."


class RecordBus(MemoryBus):
    """A bus with a record (like the Redis stream) and an announcement log (the channel).
    `room`: how many more signals it takes before it refuses the rest of a batch with OOM;
    `lose()`: its record is gone (a Redis that restarted empty). Like the Redis script, it
    takes nothing of a batch that would leave a gap after its record's end."""

    def __init__(self, room: float = float("inf")) -> None:
        super().__init__()
        self.room = room
        self.record: list[int] = []
        self.announced: list[int] = []

    async def publish_many(self, items: list[tuple[int, bytes]], refill_up_to: int) -> Delivery:
        last = self.record[-1] if self.record else 0
        if items and items[0][0] > last + 1:
            return Delivery(0, None, last)
        held = 0
        for seq, _ in items:
            if self.record and seq <= self.record[-1]:
                held += 1  # held already
                continue
            if self.room < 1:
                return Delivery(held, OOM)
            self.room -= 1
            self.record.append(seq)
            if seq > refill_up_to:
                self.announced.append(seq)
            held += 1
        return Delivery(held)

    async def last_seq(self) -> int | None:
        return self.record[-1] if self.record else None

    def lose(self) -> None:
        self.record.clear()


def signal(hedger: HedgeEngine) -> tuple[Signal, SignalSent]:
    seq = hedger.next_seq
    hedger.next_seq += 1
    sig = Signal(f"sig-{seq}", seq, 1.8e9, "XYZ", "XYZ", 1.0, 0.0, 0.0, -1.0, 0.0, 100.0, "band")
    return sig, SignalSent(sig.id, seq, "XYZ", "XYZ", 1.0, 1.8e9 + 30)


async def until(predicate: Callable[[], bool], what: str, timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{what}: not within {timeout_s:g} s")


class HedgedEgress(Egress):
    """An egress wired to a hedge engine the way the runner wires it to the core."""

    hedger: HedgeEngine


async def started(journal: SqliteJournal, bus: MemoryBus, hedger: HedgeEngine | None = None,
                  metrics: Metrics | None = None) -> HedgedEgress:
    h = hedger or HedgeEngine(ManualClock(1.8e9))

    def halt(reason: str | None) -> None:
        h.system_halt = reason

    def seq_floor(n: int) -> None:
        h.next_seq = max(h.next_seq, n)

    egress = HedgedEgress(journal, bus, metrics or Metrics(), halt, seq_floor)
    egress.hedger = h
    await egress.start()
    return egress


async def test_a_batch_the_bus_takes_in_part_counts_only_what_it_took_and_waits_saying_why():
    journal = SqliteJournal(":memory:")
    await journal.start()
    bus = RecordBus(room=3)
    metrics = Metrics()
    egress = await started(journal, bus, metrics=metrics)
    try:
        egress.emit([signal(egress.hedger) for _ in range(10)])
        await until(lambda: egress.journaled_seq == 10 and egress.bus_problem is not None,
                    "the refusal noticed")
        assert bus.record == [1, 2, 3] and egress.published_seq == 3
        assert egress.backlog() == 7
        assert metrics.outbox_depth._value.get() == 7  # the gauge shows the real backlog
        assert metrics.redis_errors._value.get() >= 1
        assert "refused signal seq 4" in egress.bus_problem and "maxmemory" in egress.bus_problem
        bus.room = float("inf")  # room again
        await until(lambda: egress.published_seq == 10, "the backlog drained")
        assert bus.record == list(range(1, 11)) and bus.announced == list(range(1, 11))
        assert egress.bus_problem is None and metrics.outbox_depth._value.get() == 0
    finally:
        await egress.stop()
        await journal.close()


async def test_a_record_the_bus_lost_is_refilled_without_announcing_those_signals_again():
    journal = SqliteJournal(":memory:")
    await journal.start()
    bus = RecordBus()
    egress = await started(journal, bus)
    try:
        egress.emit([signal(egress.hedger) for _ in range(5)])
        await until(lambda: bus.announced == [1, 2, 3, 4, 5], "signals 1-5 announced")
        bus.lose()  # Redis restarted empty: noticed by the next check (every second)
        await until(lambda: bus.record == [1, 2, 3, 4, 5], "the record re-filled")
        egress.emit([signal(egress.hedger) for _ in range(2)])
        await until(lambda: bus.record == [1, 2, 3, 4, 5, 6, 7], "signals 6-7 recorded")
        assert bus.announced == [1, 2, 3, 4, 5, 6, 7], "a refill was announced again"
    finally:
        await egress.stop()
        await journal.close()


async def test_a_record_lost_just_before_a_batch_is_refilled_before_the_batch_goes_on():
    journal = SqliteJournal(":memory:")
    await journal.start()
    bus = RecordBus()
    egress = await started(journal, bus)
    try:
        egress.emit([signal(egress.hedger) for _ in range(5)])
        await until(lambda: bus.announced == [1, 2, 3, 4, 5], "signals 1-5 announced")
        bus.lose()  # and new signals come before the next check would notice
        egress.emit([signal(egress.hedger) for _ in range(2)])
        await until(lambda: egress.published_seq == 7, "signals 6-7 published", 0.5)
        assert bus.record == [1, 2, 3, 4, 5, 6, 7], "a gap in the record"
        assert bus.announced == [1, 2, 3, 4, 5, 6, 7], "a refill was announced again"
    finally:
        await egress.stop()
        await journal.close()


async def test_a_restarted_service_announces_nothing_again_into_a_bus_that_lost_its_record(
        tmp_path):
    path = str(tmp_path / "journal.db")
    journal = SqliteJournal(path)
    await journal.start()
    hedger = HedgeEngine(ManualClock(1.8e9))
    egress = await started(journal, RecordBus(), hedger)
    egress.emit([signal(hedger) for _ in range(5)])
    await until(lambda: egress.published_seq == 5, "signals 1-5 published")
    await egress.stop()  # a clean stop records the announced seq
    await journal.close()

    journal = SqliteJournal(path)
    await journal.start()
    assert await journal.announced_seq() == 5
    bus = RecordBus()  # Redis lost everything while the service was down
    hedger = HedgeEngine(ManualClock(1.8e9), next_seq=6)
    egress = await started(journal, bus, hedger)
    try:
        await until(lambda: bus.record == [1, 2, 3, 4, 5], "the record re-filled")
        egress.emit([signal(hedger)])
        await until(lambda: bus.record == [1, 2, 3, 4, 5, 6], "signal 6 recorded")
        assert bus.announced == [6]
    finally:
        await egress.stop()
        await journal.close()
