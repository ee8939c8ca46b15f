"""Hedge signals (CONTRACT §5) and the pending orders they leave behind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.domain import iso_utc


@dataclass(frozen=True, slots=True)
class Signal:
    """An order to the execution bots. Shares of the underlying: `net_delta_before`,
    `target_delta`; units of the hedge instrument: `order_qty` (signed, + buy), `quantity`,
    `current_position`, `pending_before`, `target_position`. `ts` is event time (epoch s)."""

    id: str
    seq: int
    ts: float
    underlying: str
    instrument: str
    order_qty: float
    current_position: float
    pending_before: float
    net_delta_before: float
    target_delta: float
    spot: float | None
    reason: str

    @property
    def side(self) -> str:
        return "buy" if self.order_qty > 0 else "sell"

    @property
    def quantity(self) -> float:
        return abs(self.order_qty)

    @property
    def target_position(self) -> float:
        return self.current_position + self.pending_before + self.order_qty

    def as_message(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "ts": iso_utc(self.ts),
            "underlying": self.underlying,
            "instrument": self.instrument,
            "side": self.side,
            "quantity": self.quantity,
            "order_qty": self.order_qty,
            "current_position": self.current_position,
            "pending_before": self.pending_before,
            "target_position": self.target_position,
            "net_delta_before": self.net_delta_before,
            "target_delta": self.target_delta,
            "spot": self.spot,
            "reason": self.reason,
        }


@dataclass(slots=True)
class PendingOrder:
    """What is still unfilled of a signal, signed, in units of the hedge instrument.
    `expires_at` is wall-clock epoch seconds."""

    signal_id: str
    underlying: str
    instrument: str
    remaining: float
    expires_at: float
    clipped: bool = False
    shares: dict[str, float] = field(default_factory=dict)  # underlying -> units of the order
    order_qty: float = 0.0  # the signal's whole order; 0: the initial `remaining`
    counts: bool = True  # False: an order in another instrument (an option), not in `pending`
    filled: float = 0.0
    overfilled: bool = False
    spot: float | None = None  # the underlying's spot in the signal (hedge slippage is against it)

    def __post_init__(self) -> None:
        if not self.order_qty:
            self.order_qty = self.remaining
        if not self.shares and self.counts:
            self.shares = {self.underlying: self.remaining}

    def pending_for(self, underlying: str) -> float:
        if not self.order_qty:
            return 0.0
        return self.shares.get(underlying, 0.0) * self.remaining / self.order_qty

    def allocate(self, units: float) -> dict[str, float]:
        """A fill of `units` split over the underlyings the way the order was built."""
        if not self.order_qty:
            return {self.underlying: units}
        return {u: units * q / self.order_qty for u, q in self.shares.items()}
