"""The runner's side of the P&L day: what must be journaled around the desk (app.engine.
pnl_desk) — the marks a load left to the model, valued once the underlying is; the roll,
asked for (POST /v1/pnl/roll) or due (event time crossing HEDGE_PNL_ROLL_AT)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.codec import dumps
from app.domain import iso_utc
from app.engine.command_codec import encode
from app.engine.commands import RollDay, SetMarks
from app.engine.pnl_day import RollTime
from app.engine.read import ReadModel
from app.engine.views import pnl_book_view
from app.errors import NotReady

if TYPE_CHECKING:
    from app.engine.runner import Runner

log = logging.getLogger("dynhedge.runner")


class PnlDays:
    def __init__(self, runner: Runner, roll: RollTime | None) -> None:
        self.runner = runner
        self.roll_time = roll  # when the day closes by itself (event time), None: never
        self._day = -1  # the P&L day `_due` was computed for
        self._due = float("inf")
        self._marking = False  # a journal write of marks is under way

    # --- marks ----------------------------------------------------------------------------

    async def journal_marks(self) -> None:
        """Journal the marks a load left to the model, valued now (the runner's lock held):
        a replay then marks them as the desk saw them, whatever market it has rebuilt."""
        r = self.runner
        marks = r.read.pnl_marks(unmarked_only=True)
        if not marks:
            return
        cmd = SetMarks(marks)
        try:
            event_id = await r.journal.append(*encode(cmd))
        except Exception:  # kept in memory; a restart marks them again once valued
            log.exception("journal write of %d P&L marks failed", len(marks))
        else:
            await r._snapshot_maybe(event_id)
        r.core.execute(cmd)

    def marks_due(self) -> bool:
        """True (once, until `marks_when_valued` ran) when marks wait on a valued underlying."""
        if self._marking or not self.runner.read.pnl_unmarked():
            return False
        self._marking = True
        return True

    async def marks_when_valued(self) -> None:
        try:
            async with self.runner._lock:
                await self.journal_marks()
        finally:
            self._marking = False

    # --- the roll -------------------------------------------------------------------------

    async def roll(self, as_of: float,
                   figures: Callable[[ReadModel], dict[str, Any]]) -> dict[str, Any]:
        """Close the P&L day: the values now become the marks and `figures(read)` — the
        day's P&L view as it stands — goes to the history. Under the lock that orders fills:
        each fill counts in exactly one day."""
        r = self.runner
        async with r._lock:
            r._recompute_dirty_now()
            day = figures(r.read)
            cmd = RollDay(as_of, r.read.pnl_marks(unmarked_only=False), dumps(day).decode())
            try:
                event_id = await r.journal.append(*encode(cmd))
            except Exception as exc:
                raise NotReady(f"journal write failed: {exc}") from exc
            r.core.execute(cmd)
            r.checkpoint.ticked.update(r.core.book.markets)  # the tracks of the new day
            await r._snapshot_maybe(event_id)
            return day

    def arm(self) -> float | None:
        """The event time now (None before any tick); when the P&L day changed since the
        last call, the time its automatic roll is due."""
        if self.roll_time is None:
            return None
        core = self.runner.core
        stamps = [m.as_of for m in core.book.markets.values()
                  if m.as_of is not None and m.last_tick_ts is not None]
        if not stamps:
            return None
        now = max(stamps)
        desk = core.pnl
        if self._day != desk.day:
            self._day = desk.day
            self._due = self.roll_time.next_after(
                now if desk.day_start is None else desk.day_start)
        return now

    async def roll_when_due(self) -> None:
        """Close the day once event time (the latest tick's `ts`) reaches the roll time after
        the day's start (a roll's time; for a day a load began, the event time then)."""
        now = self.arm()
        if now is not None and now >= self._due:
            log.info("P&L day closed at %s (event time)", iso_utc(now))
            await self.roll(now, lambda read: pnl_book_view(read, now))
