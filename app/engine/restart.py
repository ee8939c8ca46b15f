"""What a start-up rebuilds from the journal: the latest snapshot, then the journal's tail
through the same command functions that ran live (limits' states from their alerts, the last
tick of each underlying, the recent fills' answers for idempotent re-sends, the next seq)."""

from __future__ import annotations

import logging
from typing import Any

from app.engine.command_codec import decode, resolved
from app.engine.commands import RecordFill
from app.engine.core import Core
from app.engine.fill_intake import fill_answer
from app.engine.fill_memo import FillMemo
from app.engine.ports import Journal
from app.engine.snapshot import restore, restore_tick_state
from app.errors import DynhedgeError

log = logging.getLogger("dynhedge.runner")


async def rebuild(core: Core, journal: Journal, fills: FillMemo) -> int:
    """Rebuild the book, policies, halts and pending signals; returns the number of journal
    events replayed after the snapshot."""
    snap, events = await journal.replay()
    core.limits.replaying = True  # the journal's alerts rebuild the limits' states
    if snap is not None:
        restore(core, snap)
    records = await journal.fill_records(fills.size)
    replayed: dict[str, dict[str, Any]] = {}
    for kind, body in events:
        try:
            cmd = resolved(decode(kind, body), core)
            result = core.execute(cmd)
        except (DynhedgeError, ValueError) as exc:  # valid when written: log, go on
            log.error("journal replay: %s event skipped: %s", kind, exc)
            continue
        if isinstance(cmd, RecordFill):
            replayed[cmd.fill.exec_id] = fill_answer(result)
    core.limits.replaying = False
    for symbol, state in (await journal.last_ticks()).items():
        restore_tick_state(core, symbol, state)
    for exec_id, (payload, result) in records.items():  # oldest first
        fills.put(exec_id, payload, replayed.get(exec_id, result))
    fills.complete = len(records) < fills.size
    core.hedger.next_seq = max(core.hedger.next_seq, await journal.max_seq() + 1)
    core.dirty.clear()
    log.info("restored %s + %d journal events; next seq %d",
             "a snapshot" if snap else "no snapshot", len(events), core.hedger.next_seq)
    return len(events)
