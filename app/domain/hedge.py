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


@dataclass(frozen=True, slots=True)
class HedgeRequest:
    """The `hedge` a desk asked for; the book resolves it into a `HedgeSpec` against the
    instruments it knows. `instrument` None: the underlying itself; `multiplier` None: the
    instrument's own multiplier when it is a defined instrument, else 1."""

    instrument: str | None = None
    multiplier: float | None = None
    ratio: float = 1.0
    lot_size: float = 1.0

    @classmethod
    def of(cls, spec: HedgeSpec) -> HedgeRequest:
        """A fully given spec as a request (its multiplier then stated explicitly)."""
        return cls(spec.instrument, spec.multiplier, spec.ratio, spec.lot_size)

    def instrument_for(self, underlying: str) -> str:
        return self.instrument or underlying

    def resolve(self, underlying: str, defined_multiplier: float | None) -> HedgeSpec:
        """The spec in force: `defined_multiplier` is the hedge instrument's own multiplier
        when the book defines it (it wins; a contradiction is refused before this point)."""
        if defined_multiplier is not None:
            multiplier = defined_multiplier
        else:
            multiplier = 1.0 if self.multiplier is None else self.multiplier
        return HedgeSpec(self.instrument_for(underlying), multiplier, self.ratio, self.lot_size)

    def contradiction(self, defined_multiplier: float | None) -> str | None:
        """Why this request cannot stand beside the instrument's definition, or None."""
        if (defined_multiplier is not None and self.multiplier is not None
                and abs(self.multiplier - defined_multiplier) > 1e-12 * defined_multiplier):
            return (f"{self.multiplier:g} contradicts the multiplier of the defined instrument "
                    f"({defined_multiplier:g})")
        return None
