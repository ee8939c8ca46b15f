"""What an underlying hedges with (CONTRACT §3, `hedge` of PUT /v1/underlyings)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HedgeSpec:
    """What one underlying hedges with: one unit of `instrument` offsets
    `multiplier × ratio` shares of the underlying's delta; orders round to `lot_size` units."""

    instrument: str
    multiplier: float = 1.0
    ratio: float = 1.0
    lot_size: float = 1.0

    @property
    def shares_per_unit(self) -> float:
        return self.multiplier * self.ratio
