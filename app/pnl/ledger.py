"""Positions at average cost: what was made since the start of the day, realized or not.

A holding starts the day at its mark (the per-unit start-of-day price: yesterday's close, or
the model value when the book was loaded) — that is its cost. A trade that adds to the
position moves the average cost; one that reduces it realizes (price − average cost) on the
part closed; one that crosses zero closes all and opens the rest at the trade's price. So

    pnl = realized + (value now − average cost) × quantity × multiplier − fees

which is, per unit, (value now − mark) for what was held overnight and (value now − fill
price) for what was traded today. All money in $; quantities in units of the instrument."""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("option", "stock", "hedge", "convertible")


@dataclass(slots=True)
class Holding:
    """One instrument of one underlying. `kind`: option, stock (stock and futures that are not
    the hedge), hedge (the underlying's hedge instrument), convertible."""

    symbol: str
    underlying: str
    kind: str
    multiplier: float
    quantity: float = 0.0
    cost: float = 0.0  # average cost per unit of the open quantity, $
    realized: float = 0.0
    fees: float = 0.0
    mark: float | None = None  # the start-of-day price per unit
    sod_quantity: float = 0.0

    def trade(self, quantity: float, price: float, fee: float = 0.0) -> float:
        """Book a trade (signed units at `price` per unit, `fee` $); returns what it realized."""
        q, c = self.quantity, self.cost
        self.fees += fee
        if quantity == 0:
            return 0.0
        if q == 0 or (q > 0) == (quantity > 0):  # opening or adding
            total = q + quantity
            self.cost = (q * c + quantity * price) / total
            self.quantity = total
            return 0.0
        closing = quantity if abs(quantity) <= abs(q) else -q  # the part that closes, signed
        realized = (price - c) * -closing * self.multiplier
        self.realized += realized
        rest = quantity - closing
        self.quantity = q + closing
        if abs(self.quantity) < 1e-12:
            self.quantity, self.cost = 0.0, 0.0
        if rest:
            self.quantity, self.cost = rest, price
        return realized

    def unrealized(self, value: float) -> float:
        """(value now − average cost) × quantity × multiplier, $."""
        return (value - self.cost) * self.quantity * self.multiplier if self.quantity else 0.0

    def pnl(self, value: float) -> float:
        return self.realized + self.unrealized(value) - self.fees


@dataclass(slots=True)
class Ledger:
    """Every holding of the day, by (underlying, symbol): a hedge instrument shared by several
    underlyings is held apart by each (its fills are split the way its signals were)."""

    holdings: dict[tuple[str, str], Holding] = field(default_factory=dict)

    def start_day(self, holdings: list[Holding]) -> None:
        """The start-of-day positions, each at its mark (its cost from now on)."""
        self.holdings = {}
        for h in holdings:
            h.cost = 0.0 if h.mark is None else h.mark
            h.sod_quantity = h.quantity
            h.realized = h.fees = 0.0
            self.holdings[(h.underlying, h.symbol)] = h

    def holding(self, underlying: str, symbol: str, kind: str, multiplier: float) -> Holding:
        key = (underlying, symbol)
        h = self.holdings.get(key)
        if h is None:
            h = self.holdings[key] = Holding(symbol, underlying, kind, multiplier)
        return h

    def trade(self, underlying: str, symbol: str, kind: str, multiplier: float,
              quantity: float, price: float, fee: float = 0.0) -> float:
        return self.holding(underlying, symbol, kind, multiplier).trade(quantity, price, fee)

    def of(self, underlying: str) -> list[Holding]:
        return [h for (u, _), h in self.holdings.items() if u == underlying]
