"""What the hedge engine reads of an underlying, keeps per underlying, and what a policy wants
to send."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from app.hedging.policy import HedgePolicy
from app.hedging.rails import Throttle


class Exposure(Protocol):
    """What the engine reads of one underlying's risk snapshot (the book's `UnderlyingRisk`
    is one): `delta` in shares with the hedge position counted (pending not), `gamma` in
    shares per $1, `spot` $, `as_of` event time (epoch s), `gamma_tau` years,
    `hedge_position` units of the hedge instrument. Figures are None until it has a spot."""

    @property
    def underlying(self) -> str: ...
    @property
    def spot(self) -> float | None: ...
    @property
    def as_of(self) -> float | None: ...
    @property
    def delta(self) -> float | None: ...
    @property
    def gamma(self) -> float | None: ...
    @property
    def gamma_tau(self) -> float: ...
    @property
    def hedge_position(self) -> float: ...
    @property
    def valued(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Want:
    """An order a policy would send: `order` in units of the hedge instrument (signed);
    `pending`, units; `net` and `target`, shares of the underlying; `notional`, $."""

    order: float
    clipped: bool
    notional: float
    pending: float
    net: float
    target: float


@dataclass(slots=True)
class HedgeState:
    """What the engine knows of one underlying besides its policy."""

    policy: HedgePolicy
    halted: bool = False
    reduce_only_reasons: set[str] = field(default_factory=set)
    last_check_ts: float = math.nan  # event time of the last interval check
    throttle: Throttle = field(default_factory=Throttle)
    quiet: Counter[str] = field(default_factory=Counter)
    last_decision: str = "none"
    band: float | None = None
    net_delta: float | None = None
    breach: str | None = None
