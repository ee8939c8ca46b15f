"""Fills in: a fill is journaled (write-ahead, in batches that share one fsync), applied and
recomputed under the lock that orders fills and commands, and only then answered. Idempotent
on exec_id: the same payload again answers `duplicate`, another payload is a Conflict; a fill
being written is waited for, not written twice. Busts reverse an acknowledged fill, journaled."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from app.engine.command_codec import decode, encode, resolved
from app.engine.commands import BustFill, NewFill, RecordFill
from app.engine.fill_memo import Recalled
from app.errors import Conflict, NotReady, UnknownSymbol

if TYPE_CHECKING:
    from app.engine.runner import Runner

log = logging.getLogger("dynhedge.runner")
FILL_BATCH = 256  # the most fills committed in one transaction


class FillIntake:
    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.queue: list[tuple[RecordFill, str, asyncio.Future[dict[str, Any]]]] = []
        self.inflight: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self.waiting = asyncio.Event()

    async def submit(self, new: NewFill) -> dict[str, Any]:
        """Journal (write-ahead), apply, recompute; then answer. Idempotent on exec_id (the
        same payload again answers `duplicate`; another payload is a Conflict). Fills that
        arrive while a commit is syncing are committed together (one fsync)."""
        r = self.runner
        exec_id, payload = new.fill.exec_id, new.payload
        prior = r.fills.get(exec_id)
        if prior is None and exec_id not in self.inflight and not r.fills.complete:
            looked_up = await r.journal.fill_lookup(exec_id)
            prior = None if looked_up is None else Recalled.of(*looked_up)
        inflight = self.inflight.get(exec_id)
        if inflight is not None:  # the same exec_id is being written right now
            if inflight[0] != payload:
                r.metrics.fills.labels("conflict").inc()
                raise Conflict(f"exec_id {exec_id!r} was already used for another fill")
            answer = await asyncio.shield(inflight[1])
            r.metrics.fills.labels("duplicate").inc()
            return {**answer, "duplicate": True}
        prior = r.fills.get(exec_id) or prior
        if prior is not None:
            if not prior.same_fill(payload):
                r.metrics.fills.labels("conflict").inc()
                raise Conflict(f"exec_id {exec_id!r} was already used for another fill")
            r.metrics.fills.labels("duplicate").inc()
            symbol = new.fill.symbol
            answer = prior.answer or {  # an answer lost in a crash: the position now
                "exec_id": exec_id, "overfill": False,
                "position": {"symbol": symbol, "quantity": r.core.book.quantity(symbol)}}
            return {**answer, "duplicate": True}
        # checked before the journal write: a fill the book cannot take is never journaled
        record = r.core.resolve_fill(new)
        r.core.check_event_time(new.fill.ts)
        done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.inflight[exec_id] = (payload, done)
        self.queue.append((record, payload, done))
        self.waiting.set()
        answer = await asyncio.shield(done)
        return {**answer, "duplicate": False}

    async def run(self) -> None:
        """Drain the fill queue: one transaction per batch, then apply each in order and
        recompute, under the lock that orders fills and commands."""
        while True:
            await self.waiting.wait()
            self.waiting.clear()
            while self.queue:
                batch = self.queue[:FILL_BATCH]
                del self.queue[:FILL_BATCH]
                try:
                    await self._write(batch)
                except Exception as exc:  # never leave a caller waiting
                    log.exception("fill batch failed")
                    for record, _, done in batch:
                        self.inflight.pop(record.fill.exec_id, None)
                        if not done.done():
                            done.set_exception(NotReady(f"fill not taken: {exc}"))

    async def _write(self, batch: list[tuple[RecordFill, str, Any]]) -> None:
        r = self.runner
        async with r._lock:
            try:
                ids = await r.journal.append_fills(
                    [(record.fill.exec_id, payload, encode(record)[1])
                     for record, payload, _ in batch])
            except Exception as exc:
                raise NotReady(f"journal write failed: {exc}") from exc
            for record, payload, done in batch:
                exec_id = record.fill.exec_id
                outcome = r.core.execute(record)
                r.checkpoint.ticked.update(outcome.underlyings)  # their P&L tracks moved
                answer = fill_answer(outcome)
                r.fills.put(exec_id, payload, answer)
                self.inflight.pop(exec_id, None)
                r._background(r.journal.set_fill_result(exec_id, answer))
                r.metrics.fills.labels("overfill" if outcome.overfill else "applied").inc()
                if outcome.overfill:
                    log.warning("fill %r over-fills signal %r", exec_id, record.fill.signal_id)
                done.set_result(answer)  # its caller resumes after the recompute below
            r._recompute_dirty_now()
            await r._snapshot_maybe(ids[-1], len(ids))

    async def bust(self, exec_id: str) -> dict[str, Any]:
        """Reverse an acknowledged fill (journaled). 404 unknown, 409 busted already."""
        r = self.runner
        async with r._lock:
            record = await r.journal.fill_record(exec_id)
            if record is None:
                raise UnknownSymbol("fill", exec_id)
            original, busted = record
            if busted:
                raise Conflict(f"fill {exec_id!r} was busted already")
            fill = resolved(decode("fill", original), r.core)
            assert isinstance(fill, RecordFill)
            bust = BustFill(fill)
            try:
                event_id = await r.journal.append_bust(exec_id, encode(bust)[1])
            except Exception as exc:
                raise NotReady(f"journal write failed: {exc}") from exc
            outcome = r.core.execute(bust)
            r.metrics.fills.labels("busted").inc()
            log.warning("fill %r busted: %r back to %g", exec_id, outcome.symbol,
                        outcome.quantity)
            r._recompute_dirty_now()
            await r._snapshot_maybe(event_id)
        return {"exec_id": exec_id, "busted": True,
                "position": {"symbol": outcome.symbol, "quantity": outcome.quantity}}


def fill_answer(outcome: Any) -> dict[str, Any]:
    return {
        "exec_id": outcome.exec_id,
        "position": {"symbol": outcome.symbol, "quantity": outcome.quantity},
        "overfill": outcome.overfill,
    }
