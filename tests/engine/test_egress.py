"""The egress: a bus that is down fills the backlog, which halts hedging with a reason rather
than dropping a signal; when the bus comes back every signal goes out, in order."""

from __future__ import annotations

import asyncio

from app.adapters.journal import SqliteJournal
from app.adapters.memory_bus import MemoryBus
from app.book import UnderlyingRisk
from app.domain import HedgeSpec, ManualClock
from app.engine.commands import SignalSent
from app.engine.egress import OUTBOX_HALT, Egress
from app.engine.metrics import Metrics
from app.hedging import HedgeEngine, HedgePolicy, Mode


class FlakyBus(MemoryBus):
    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.seen: list[int] = []

    async def publish(self, seq: int, message: bytes) -> None:
        if self.down:
            raise ConnectionError("redis down")
        self.seen.append(seq)
        await super().publish(seq, message)

    async def publish_many(self, items: list[tuple[int, bytes]]) -> None:
        for seq, message in items:
            await self.publish(seq, message)


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
