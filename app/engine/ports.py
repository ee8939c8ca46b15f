"""Ports: what the engine needs from the outside, as Protocols. Adapters implement them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a bus did with a batch of signals given in seq order: the first `held` of them
    are in its record now (added by this call, or held already) and nothing after them was
    added; `error` is the bus's reason for stopping before the end (None: all held).
    `ends_at` is set when the record ended before the batch's first seq with a gap between
    (it lost data: a Redis that restarted empty): it holds up to that seq and nothing of the
    batch was added — the caller re-fills from there."""

    held: int
    error: str | None = None
    ends_at: int | None = None


class SignalBus(Protocol):
    """Where signals go out: a record (the stream) and an announcement (the channel)."""

    name: str

    async def start(self) -> None: ...

    async def publish_many(self, items: list[tuple[int, bytes]], refill_up_to: int) -> Delivery:
        """Add `items` (seq, message) to the record, in order, stopping at the first one it
        refuses; each one added with a seq above `refill_up_to` is also announced (seqs at
        or below it were announced once already: a refill goes to the record only). Raises
        when the bus cannot be reached or does not answer; the caller retries in order."""
        ...

    async def last_seq(self) -> int | None:
        """The highest seq the bus's record (the stream) holds; None when it holds nothing."""
        ...

    async def publish_alert(self, message: bytes) -> None:
        """Announce an alert (the alert channel) and add it to the alert stream."""
        ...

    async def problem(self) -> str | None:
        """None when the bus works, else the reason (for /readyz)."""
        ...

    async def close(self) -> None: ...


class Journal(Protocol):
    """The write-ahead record of every command and fill, and of every signal."""

    async def start(self) -> None: ...

    async def append(self, kind: str, body: dict[str, Any]) -> int: ...

    async def append_fills(self, fills: list[tuple[str, str, dict[str, Any]]]) -> list[int]: ...

    async def append_signals(
        self, rows: list[tuple[int, str, bytes]], events: list[dict[str, Any]]
    ) -> None: ...

    async def replay(self) -> tuple[dict[str, Any] | None, list[tuple[str, dict[str, Any]]]]:
        """(the latest snapshot or None, the events after it)."""
        ...

    async def fill_records(self, limit: int) -> dict[str, tuple[str, dict[str, Any] | None]]: ...

    async def fill_lookup(self, exec_id: str) -> tuple[str, dict[str, Any] | None] | None: ...

    async def fill_record(self, exec_id: str) -> tuple[dict[str, Any], bool] | None: ...

    async def set_fill_result(self, exec_id: str, result: dict[str, Any]) -> None: ...

    async def recent_fills(self, limit: int) -> list[tuple[dict[str, Any], bool]]:
        """(the journaled fill, busted?) of the latest `limit` fills, newest first."""
        ...

    async def append_bust(self, exec_id: str, body: dict[str, Any]) -> int: ...

    async def write_snapshot(self, event_id: int, body: dict[str, Any]) -> None: ...

    async def signals_after(self, seq: int, limit: int) -> list[bytes]: ...

    async def write_ticks(self, rows: list[tuple[str, dict[str, Any]]]) -> None:
        """Upsert the last accepted tick state of some underlyings (a checkpoint)."""
        ...

    async def last_ticks(self) -> dict[str, dict[str, Any]]: ...

    async def max_seq(self) -> int: ...

    async def announced_seq(self) -> int:
        """The highest seq recorded as announced on the bus (0: none)."""
        ...

    async def set_announced_seq(self, seq: int) -> None: ...

    async def problem(self) -> str | None: ...

    async def close(self) -> None: ...
