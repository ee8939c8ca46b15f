"""`python -m tests.faults.die_at`: the service (`python -m app serve`), except that it kills
itself with SIGKILL at one exact point of the journal protocol, named by DYNHEDGE_DIE_AT:

- `fill-committed`: right after a fill's journal transaction commits, before it is applied
  and answered (the client never gets its 200);
- `signal-row-committed`: right after a batch of signals is committed to the `signals`
  table (with the `signal` events that restore their pending orders, one transaction),
  before the signals reach readers or the bus.

A kill -9 at a chosen instruction instead of a random one: the windows are microseconds wide."""

from __future__ import annotations

import os
import signal
from typing import Any

from app.adapters.journal import SqliteJournal


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install(point: str) -> None:
    if point == "fill-committed":
        original_fills = SqliteJournal.append_fills

        async def append_fills(self: SqliteJournal, *args: Any, **kwargs: Any) -> list[int]:
            event_ids = await original_fills(self, *args, **kwargs)
            die()
            return event_ids

        SqliteJournal.append_fills = append_fills  # type: ignore[method-assign]
    elif point == "signal-row-committed":
        original_signals = SqliteJournal.append_signals

        async def append_signals(self: SqliteJournal, *args: Any, **kwargs: Any) -> None:
            await original_signals(self, *args, **kwargs)
            die()

        SqliteJournal.append_signals = append_signals  # type: ignore[method-assign]
    else:
        raise SystemExit(f"DYNHEDGE_DIE_AT: unknown point {point!r}")


if __name__ == "__main__":
    install(os.environ["DYNHEDGE_DIE_AT"])
    from app.serve import main

    raise SystemExit(main([]))
