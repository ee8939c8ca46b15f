"""The clock is passed in, never read from the wall inside the core."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock time in epoch seconds (UTC)."""
        ...


class WallClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock tests and the backtester move by hand."""

    def __init__(self, start: float = 0.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class ShiftedClock:
    """Wall-clock speed from a chosen start: `now()` is `start` plus the (monotonic) time
    elapsed since the clock was made. Tests and replays pin the date without freezing time
    (pending TTLs, throttles and staleness still run)."""

    def __init__(self, start: float) -> None:
        self.start = start
        self._t0 = time.monotonic()

    def now(self) -> float:
        return self.start + (time.monotonic() - self._t0)
