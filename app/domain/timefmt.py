"""Timestamps: ISO-8601 strings or epoch seconds in, epoch seconds inside, ISO-8601 UTC out."""

from __future__ import annotations

import math
from datetime import UTC, datetime


def parse_ts(value: str | float | int | datetime, field: str = "ts") -> float:
    """Epoch seconds from an ISO-8601 string, a number of epoch seconds or a datetime.

    A naive ISO string or datetime is taken as UTC. Raises ValueError naming `field`.
    """
    if isinstance(value, bool):
        raise ValueError(f"{field}: expected an ISO-8601 string or epoch seconds")
    if isinstance(value, int | float):
        ts = float(value)
        if not math.isfinite(ts) or ts < 0:
            raise ValueError(f"{field}: must be finite, non-negative epoch seconds")
        return ts
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
        return value.timestamp()
    raise ValueError(f"{field}: expected an ISO-8601 string or epoch seconds")


def iso_utc(ts: float | None) -> str | None:
    """ISO-8601 UTC with microseconds and a Z, or None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
