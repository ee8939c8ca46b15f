"""P&L and its attribution — one implementation for the live service and the backtester.

- `attribution.predict`: Greeks at the start of an interval times the moves over it;
- `attribution.explain`: sequential revaluation (time, spot, vol, rate) whose steps sum
  exactly to the revaluation change;
- `ledger.Ledger`: positions at average cost — marks, fills, fees, realized and unrealized;
- `effectiveness.Effectiveness`: how much of the options' P&L variance the hedge removed.

Arrays in, arrays out where it matters (the backtester passes one element per path); imports
only numpy and the standard library.
"""

from app.pnl.attribution import EXPLAIN_STEPS, PREDICT_TERMS, MarketPoint, explain, predict
from app.pnl.effectiveness import Effectiveness
from app.pnl.ledger import Holding, Ledger

__all__ = [
    "EXPLAIN_STEPS",
    "PREDICT_TERMS",
    "Effectiveness",
    "Holding",
    "Ledger",
    "MarketPoint",
    "explain",
    "predict",
]
