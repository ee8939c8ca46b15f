"""Firm-wide `book` limits across shards (issue 15, point 5).

A sharded service judges its `book` limits on the firm's figure, not on its own book: each
shard publishes its `BookPart` — its share of every figure a book limit watches — and adds the
parts of the other shards (`FirmRest`, summed) to its own before judging. Every shard thus
judges the same firm-wide value (within the exchange's period) and applies the limit's action
to its own underlyings: a `halt` halts every shard, a `flatten` flattens every shard's
underlyings, and no shard has to command another. The exchange itself (Redis) is
`app.adapters.firm_exchange`; nothing here does I/O.

What adds up across shards: the dollar totals (dollar_delta, beta_dollar_delta, dollar_gamma,
vega), the day's P&L, and span16's risk (a sum over underlyings by definition); for the grid
and pm presets each book's P&L per cell, since the firm's worst loss is the worst cell of the
summed cells, not the sum of each book's worst."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

SUMMED = ("dollar_delta", "beta_dollar_delta", "dollar_gamma", "vega")


@dataclass(frozen=True, slots=True)
class BookPart:
    """One book's share of the firm's figures. `totals` per SUMMED metric ($, signed);
    `pnl` the day's P&L ($); `scenarios` per preset (see `app.engine.scenarios.book_part`:
    span16 one summable loss, grid/pm the P&L per cell, None for a cell not priced)."""

    totals: tuple[float, ...] = (0.0,) * len(SUMMED)
    pnl: float = 0.0
    scenarios: dict[str, list[float | None]] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        return {"totals": dict(zip(SUMMED, self.totals, strict=True)), "pnl": self.pnl,
                "scenarios": self.scenarios}

    @classmethod
    def from_record(cls, d: dict[str, Any]) -> BookPart:
        totals = d.get("totals") or {}
        return cls(tuple(float(totals.get(m) or 0.0) for m in SUMMED), float(d.get("pnl") or 0.0),
                   {str(p): [None if x is None else float(x) for x in cells]
                    for p, cells in (d.get("scenarios") or {}).items()})


@dataclass(frozen=True, slots=True)
class FirmRest:
    """The other shards' parts, summed: what a shard adds to its own book. `shards` the
    indexes whose part is in it, `missing` those that have published none (yet)."""

    part: BookPart
    shards: tuple[int, ...] = ()
    missing: tuple[int, ...] = ()


def add_parts(parts: list[BookPart]) -> BookPart:
    """The sum of parts. A preset's cells add cell by cell (a cell one part could not price
    is not priced in the sum); a preset some part lacks is summed over those that have it."""
    totals = [0.0] * len(SUMMED)
    pnl = 0.0
    scenarios: dict[str, list[float | None]] = {}
    for part in parts:
        for k, v in enumerate(part.totals):
            totals[k] += v
        pnl += part.pnl
        for preset, cells in part.scenarios.items():
            have = scenarios.get(preset)
            if have is None:
                scenarios[preset] = list(cells)
            elif len(have) == len(cells):
                scenarios[preset] = [None if a is None or b is None else a + b
                                     for a, b in zip(have, cells, strict=True)]
    return BookPart(tuple(totals), pnl, scenarios)


def scenario_loss(preset: str, own: list[float | None] | None,
                  rest: list[float | None] | None) -> float | None:
    """The firm's worst loss of `preset` from this book's part and the rest's (either None:
    nothing valued there). span16: the sum of the parts' losses; grid/pm: minus the worst
    summed cell (0 when every cell makes money)."""
    parts = [p for p in (own, rest) if p is not None]
    if not parts:
        return None
    if preset == "span16":
        return sum(float(p[0] or 0.0) for p in parts if p)
    cells = add_parts([BookPart(scenarios={preset: p}) for p in parts]).scenarios[preset]
    priced = [c for c in cells if c is not None and math.isfinite(c)]
    if not priced:
        return None
    return max(0.0, -min(priced)) + 0.0
