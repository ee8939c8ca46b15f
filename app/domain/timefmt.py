"""Timestamps: ISO-8601 strings or epoch seconds in, epoch seconds inside, ISO-8601 UTC out.

Every time the service takes in lies in a window, so that every time it keeps can be written
out again (a year past 9999 cannot) and no nonsense (a fill at epoch 0) gets in:

- any time (an expiry, a backtest's start and end): [1970-01-01, 2200-01-01) UTC;
- an event's time (a tick's or a fill's `ts`): [2000-01-01, 2200-01-01) UTC — and, checked
  by the core against its clock, no more than HEDGE_MAX_CLOCK_SKEW_S ahead of the server.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

EARLIEST_TS = 0.0  # 1970-01-01T00:00:00Z
EARLIEST_EVENT_TS = 946_684_800.0  # 2000-01-01T00:00:00Z
LATEST_TS = 7_258_118_400.0  # 2200-01-01T00:00:00Z, excluded


def parse_ts(value: str | float | int | datetime, field: str = "ts",
             earliest: float = EARLIEST_TS, latest: float = LATEST_TS) -> float:
    """Epoch seconds from an ISO-8601 string, a number of epoch seconds or a datetime, in
    [earliest, latest).

    A naive ISO string or datetime is taken as UTC. Raises ValueError("field: reason").
    """
    if isinstance(value, bool):
        raise ValueError(f"{field}: expected an ISO-8601 string or epoch seconds")
    if isinstance(value, int | float):
        ts = float(value)
        if not math.isfinite(ts):
            raise ValueError(f"{field}: must be finite epoch seconds")
        return in_window(ts, field, earliest, latest)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{field}: not an ISO-8601 timestamp: {value!r}") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        try:
            ts = value.timestamp()
        except (OverflowError, ValueError):  # e.g. year 1 at +01:00 is year 0 in UTC
            raise ValueError(f"{field}: {window(earliest, latest)}") from None
        return in_window(ts, field, earliest, latest)
    raise ValueError(f"{field}: expected an ISO-8601 string or epoch seconds")


def in_window(ts: float, field: str, earliest: float = EARLIEST_TS,
              latest: float = LATEST_TS) -> float:
    """`ts` when earliest <= ts < latest; else ValueError("field: must be from … to …")."""
    if not earliest <= ts < latest:
        raise ValueError(f"{field}: {window(earliest, latest)}")
    return ts


def window(earliest: float, latest: float) -> str:
    """The window as a reason: 'must be from 2000-01-01T00:00:00Z to before 2200-…'."""
    return f"must be from {_iso_s(earliest)} to before {_iso_s(latest)}"


def _iso_s(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_utc(ts: float | None) -> str | None:
    """ISO-8601 UTC with microseconds and a Z, or None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
