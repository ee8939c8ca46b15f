"""Moves the wall clock of every Python process that starts with this folder on PYTHONPATH:
with DYNHEDGE_CLOCK_OFFSET_S set, `time.time()`, `datetime.now()` and friends read that many
seconds ahead of the real clock (time_machine, ticking at wall speed; monotonic clocks are
left alone, so sleeps and timeouts behave). An offset, not an instant: every process of a run,
whenever it starts, sees the same moved clock. Used by scripts/test-moved-clock to prove that
no test depends on today's date or the time of day.

Why not Debian's faketime: libfaketime 0.9.10 cannot move Python 3.11's clock — faking the
monotonic clock hangs threading.Condition.wait(timeout), and leaving it alone makes time.sleep
fail with EINVAL."""

from __future__ import annotations

import os
import time

_offset = os.environ.get("DYNHEDGE_CLOCK_OFFSET_S")
if _offset:
    import time_machine

    _moved = time_machine.travel(time.time() + float(_offset), tick=True).start()
    # travel() took its time (a millisecond or more on a busy machine) between reading the
    # clock and starting: shift that away, so every process's clock is real + offset to the
    # microsecond and times compared across processes (a bench's latencies) stay true
    _moved.shift(-(time.time() - time_machine.escape_hatch.time.time() - float(_offset)))
