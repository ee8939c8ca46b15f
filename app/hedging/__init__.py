"""Hedge policies, rules and the engine that turns risk into signals."""

from app.hedging.engine import HedgeEngine
from app.hedging.policy import HedgePolicy, HedgeSpec, Mode, RebalanceTo
from app.hedging.signal import PendingOrder, Signal
from app.hedging.state import HedgeState

__all__ = [
    "HedgeEngine",
    "HedgePolicy",
    "HedgeSpec",
    "HedgeState",
    "Mode",
    "PendingOrder",
    "RebalanceTo",
    "Signal",
]
