"""The last accepted tick of each underlying, checkpointed: every `every_s` (and at a clean
stop) the underlyings that ticked since the last checkpoint have their tick state (last price,
its time, the jump filter's held prints, the P&L track) written to the journal, which a restart
restores prices from. A failed write keeps them for the next round."""

from __future__ import annotations

import asyncio
import logging

from app.engine.core import Core
from app.engine.ports import Journal
from app.engine.snapshot import tick_state

log = logging.getLogger("dynhedge.runner")


class TickCheckpoint:
    def __init__(self, journal: Journal, core: Core, every_s: float = 1.0) -> None:
        self.journal = journal
        self.core = core
        self.every_s = every_s
        self.ticked: set[str] = set()  # underlyings whose tick state is not written yet

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.write()
            except Exception:  # the next round writes them; a restart restores older prices
                log.exception("last tick checkpoint failed")

    async def write(self) -> None:
        """Write the tick state of the underlyings that ticked since the last checkpoint."""
        if not self.ticked:
            return
        changed, self.ticked = self.ticked, set()
        markets = self.core.book.markets
        rows = [(u, tick_state(markets[u], self.core.pnl.track_record(u)))
                for u in sorted(changed) if u in markets]
        try:
            await self.journal.write_ticks(rows)
        except Exception:
            self.ticked |= changed
            raise
