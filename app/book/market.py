"""Market parameters of one underlying (CONTRACT §3 `PUT /v1/underlyings`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.book.vols import SurfaceState
from app.domain import HedgeRequest, HedgeSpec


@dataclass(slots=True)
class UnderlyingMarket:
    """Owned and mutated by the single writer. Times are epoch seconds: `as_of` is the
    valuation (event) time, `last_received` the wall clock of the last accepted tick.

    `hedge_request` and `declared_type` are what the desk said; `hedge` and `is_future` are
    what is in force, resolved by the book against the instruments it knows (a future defined
    anywhere in the book makes its options Black-76, whatever the order of the loads)."""

    symbol: str
    rate: float
    div_yield: float
    vol: float
    hedge: HedgeSpec
    max_jump_pct: float = 10.0
    confirm_ticks: int = 3
    is_future: bool = False
    declared_type: str | None = None  # the PUT's `type` (stock, index, future), None: unsaid
    hedge_request: HedgeRequest | None = None  # None: HedgeRequest() — the underlying itself
    spot: float | None = None
    as_of: float | None = None
    last_tick_ts: float | None = None
    last_received: float | None = None
    bid: float | None = None
    ask: float | None = None
    option_ivs: dict[str, float] = field(default_factory=dict)
    option_tick_ts: dict[str, float] = field(default_factory=dict)
    option_style: str = "european"  # the style of its options that give none of their own
    dividends: tuple[tuple[float, float], ...] = ()  # (ex time epoch s, cash per share)
    surface: SurfaceState | None = None
    # risk controls: the beta to `benchmark` (beta-weighted delta; 1.0: itself), and the SPAN
    # scan ranges of the `span16` scenarios (price in %, vol in vol units, 0.04 = 4 points)
    beta: float = 1.0
    benchmark: str | None = None
    price_scan_pct: float = 15.0
    vol_scan: float = 0.04
    mark_source: str = "theo"  # how its options are marked for P&L: theo, or mid when fresh
