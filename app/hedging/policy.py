"""The hedge policy of one underlying (CONTRACT §5) and the hedge instrument spec (§3)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any

from app.domain.hedge import HedgeSpec

__all__ = ["HedgePolicy", "HedgeSpec", "Mode", "RebalanceTo"]


class Mode(StrEnum):
    OFF = "off"
    BAND = "band"
    INTERVAL = "interval"
    WHALLEY_WILMOTT = "whalley_wilmott"


class RebalanceTo(StrEnum):
    TARGET = "target"
    EDGE = "edge"


@dataclass(frozen=True, slots=True)
class HedgePolicy:
    """Figures in shares of the underlying except `min_order`, `max_order`, `max_position`
    (units of the hedge instrument). Times in seconds; money in $."""

    mode: Mode = Mode.OFF
    target_delta: float = 0.0
    band: float = 0.0
    rebalance_to: RebalanceTo | None = None  # None: target for band/interval, edge for W-W
    interval_s: float = 60.0
    min_order: float = 1.0
    max_order: float | None = None
    max_position: float | None = None
    pending_ttl_s: float = 30.0
    stale_after_s: float | None = None
    cost_per_share: float = 0.01
    risk_aversion: float = 1.0
    max_signals_per_s: float = 5.0
    max_notional_per_min: float | None = None
    reduce_only: bool = False

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> HedgePolicy:
        known = {f.name for f in fields(cls)}
        given = {k: v for k, v in values.items() if k in known and v is not None}
        if "mode" in given:
            given["mode"] = Mode(given["mode"])
        if "rebalance_to" in given:
            given["rebalance_to"] = RebalanceTo(given["rebalance_to"])
        return replace(cls(), **given)

    @property
    def to_edge(self) -> bool:
        if self.rebalance_to is None:
            return self.mode is Mode.WHALLEY_WILMOTT
        return self.rebalance_to is RebalanceTo.EDGE

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["rebalance_to"] = "edge" if self.to_edge else "target"
        return out
