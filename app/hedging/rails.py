"""The wall-clock rails: throttle windows and staleness, per underlying.

Pure Python, the clock is passed in. What they say goes into the one hedge decision
(`app.hedging.decide`) as inputs — throttled or not, $ signalled in the last minute, stale or
not — where the limits that depend on the order itself are applied."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(slots=True)
class Throttle:
    """At most `max_signals_per_s` signals in any 1 s and `max_notional_per_min` $ in any
    60 s of wall-clock time."""

    sent: deque[float] = field(default_factory=deque)
    notional: deque[tuple[float, float]] = field(default_factory=deque)
    notional_sum: float = 0.0  # running total of `notional`: the check is O(1)

    def _trim(self, now: float) -> None:
        while self.sent and now - self.sent[0] >= 1.0:
            self.sent.popleft()
        while self.notional and now - self.notional[0][0] >= 60.0:
            self.notional_sum -= self.notional.popleft()[1]
        if not self.notional:
            self.notional_sum = 0.0  # no rounding drift survives an empty window

    def signals_full(self, now: float, max_per_s: float) -> bool:
        self._trim(now)
        return len(self.sent) >= max_per_s

    def notional_used(self, now: float) -> float:
        """$ signalled in the last 60 s (the decision adds the order's own and compares with
        `max_notional_per_min`)."""
        self._trim(now)
        return self.notional_sum

    def record(self, now: float, amount: float) -> None:
        self.sent.append(now)
        self.notional.append((now, amount))
        self.notional_sum += amount


def is_stale(last_received: float | None, now: float, stale_after_s: float | None) -> bool:
    """True when the underlying's last tick arrived more than `stale_after_s` ago (wall)."""
    if stale_after_s is None:
        return False
    return last_received is None or now - last_received > stale_after_s

