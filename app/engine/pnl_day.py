"""When the P&L day closes by itself: a local time of day in a time zone (16:00 New York by
default), crossed by event time — the underlyings' valuation times, i.e. the ticks' `ts` —
so a replay or a restart rolls where the market did, whatever the wall clock says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class RollTime:
    at: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, at: str, zone: str) -> RollTime:
        """`HH:MM` (24 h) in an IANA zone; ValueError naming what is wrong."""
        try:
            hh, mm = at.strip().split(":")
            t = time(int(hh), int(mm))
        except ValueError:
            raise ValueError(f"pnl_roll_at: {at!r} is not HH:MM") from None
        try:
            z = ZoneInfo(zone)
        except (KeyError, ValueError):
            raise ValueError(f"pnl_roll_tz: unknown time zone {zone!r}") from None
        return cls(t, z)

    def next_after(self, ts: float) -> float:
        """The first roll time strictly after event time `ts` (epoch s)."""
        local = datetime.fromtimestamp(ts, self.zone)
        day = local.date()
        for _ in range(3):
            candidate = datetime.combine(day, self.at, self.zone).timestamp()
            if candidate > ts:
                return candidate
            day += timedelta(days=1)
        raise AssertionError("unreachable")  # pragma: no cover
