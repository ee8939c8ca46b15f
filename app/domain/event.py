"""Events that enter the core: ticks and fills. Validated at the edge, immutable inside."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tick:
    """A market update. For an underlying: `price` (or the bid/ask mid). For an option: `iv`
    (or the vol implied from the bid/ask mid). `ts` is event time in epoch seconds;
    `received` is the server's wall clock when it arrived."""

    symbol: str
    ts: float
    received: float
    price: float | None = None
    bid: float | None = None
    ask: float | None = None
    iv: float | None = None

    @property
    def mid(self) -> float | None:
        if self.price is not None:
            return self.price
        if self.bid is not None and self.ask is not None:
            return 0.5 * (self.bid + self.ask)
        return None


@dataclass(frozen=True, slots=True)
class Fill:
    """An execution. `quantity` > 0 in units of the instrument, `side` buy or sell."""

    exec_id: str
    symbol: str
    side: str
    quantity: float
    price: float
    ts: float
    signal_id: str | None = None
    fee: float = 0.0  # $ paid for the execution (commission, exchange fees), >= 0

    @property
    def signed_quantity(self) -> float:
        return self.quantity if self.side == "buy" else -self.quantity
