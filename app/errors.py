"""The one exception tree of dynhedge.

Every error the core raises on bad input or a refused command is a `DynhedgeError`; the API
maps each subclass to one HTTP status at the edge (`app.api.errors`):

- `InvalidInput` (422): a value that does not fit: names the `field` and the `reason`.
- `UnknownSymbol` (404): an underlying, symbol or signal the book does not know.
- `Conflict` (409): the same `exec_id` with a different payload, or a state that forbids it.
- `NotReady` (503): the journal or the signal bus cannot take the request now.
- `Misrouted` (421): a write for an underlying another shard owns; names that shard.

Numerical failures of single elements inside the pricing kernels are data (NaN plus a reason),
not exceptions.
"""

from __future__ import annotations


class DynhedgeError(Exception):
    """Base of every error dynhedge raises on purpose."""


class InvalidInput(DynhedgeError, ValueError):
    """A value at the edge that does not fit: `field` names it, `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    @classmethod
    def from_value_error(cls, exc: ValueError, field: str = "body",
                         prefix: str = "") -> InvalidInput:
        """The domain's `ValueError("field: reason")` as an InvalidInput; `field` when the
        message names none, `prefix` before the field (e.g. a list index)."""
        named, sep, reason = str(exc).partition(": ")
        if not sep:
            named, reason = field, str(exc)
        return cls(f"{prefix}{named}", reason)


class UnknownSymbol(DynhedgeError, KeyError):
    """An underlying, instrument or signal id that the book does not know."""

    def __init__(self, kind: str, symbol: str) -> None:
        super().__init__(f"unknown {kind} {symbol!r}")
        self.kind = kind
        self.symbol = symbol

    def __str__(self) -> str:
        return f"unknown {self.kind} {self.symbol!r}"


class Conflict(DynhedgeError):
    """A request that contradicts what was already accepted (e.g. a reused exec_id)."""


class NotReady(DynhedgeError):
    """A port (journal, signal bus) cannot serve right now; `reason` names it."""


class Misrouted(DynhedgeError):
    """A write for an underlying this shard does not own: `shard` (K/N) owns it."""

    def __init__(self, underlying: str, shard: str) -> None:
        super().__init__(f"underlying {underlying!r} belongs to shard {shard}")
        self.underlying = underlying
        self.shard = shard
