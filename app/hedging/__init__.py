"""Hedge policies, the one hedge decision, and the engine that turns risk into signals."""

from app.hedging.decide import NO_RAILS, Decision, Rails, Reason, decide
from app.hedging.engine import HedgeEngine
from app.hedging.policy import HedgePolicy, HedgeSpec, Mode, RebalanceTo
from app.hedging.signal import PendingOrder, Signal
from app.hedging.state import Exposure, HedgeState

__all__ = [
    "NO_RAILS",
    "Decision",
    "Exposure",
    "HedgeEngine",
    "HedgePolicy",
    "HedgeSpec",
    "HedgeState",
    "Mode",
    "PendingOrder",
    "Rails",
    "Reason",
    "RebalanceTo",
    "Signal",
    "decide",
]
