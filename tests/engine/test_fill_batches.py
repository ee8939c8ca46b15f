"""Fills posted together are committed together, each applied once, in order; a concurrent
repeat of an exec_id waits for the first and answers duplicate."""

from __future__ import annotations

import asyncio
import time

import orjson

from app.adapters.journal import SqliteJournal
from app.adapters.memory_bus import MemoryBus
from app.domain import Fill, WallClock
from app.engine.commands import NewFill
from app.engine.core import Core
from app.engine.metrics import Metrics
from app.engine.runner import Runner


def fill(i: int, qty: float = 1.0) -> NewFill:
    given = {"exec_id": f"E{i}", "symbol": "XYZ", "side": "buy", "quantity": qty,
             "price": 100.0}
    payload = orjson.dumps(given, option=orjson.OPT_SORT_KEYS).decode()
    return NewFill(Fill(f"E{i}", "XYZ", "buy", qty, 100.0, time.time()), None, frozenset(),
                   payload)


async def test_concurrent_fills_are_batched_applied_once_and_repeats_wait(tmp_path):
    journal = SqliteJournal(str(tmp_path / "j.db"))
    core = Core(WallClock())
    core.set_underlying("XYZ", rate=0.0, div_yield=0.0, vol=0.2)  # a bare fill needs a known symbol
    runner = Runner(core, journal, MemoryBus(), Metrics())
    await runner.start()
    try:
        batches: list[int] = []
        original = journal.append_fills

        async def counting(fills):  # type: ignore[no-untyped-def]
            batches.append(len(fills))
            return await original(fills)

        journal.append_fills = counting  # type: ignore[method-assign]
        posts = [runner.submit_fill(fill(i)) for i in range(40)]
        posts.append(runner.submit_fill(fill(7)))  # the same fill again, at the same time
        answers = await asyncio.gather(*posts)
        assert [a["duplicate"] for a in answers] == [False] * 40 + [True]
        assert answers[-1]["position"] == answers[7]["position"]
        assert runner.core.book.quantity("XYZ") == 40
        assert sum(batches) == 40 and len(batches) < 40  # fewer commits than fills
        again = await runner.submit_fill(fill(3))
        assert again["duplicate"] is True
    finally:
        await runner.stop()
