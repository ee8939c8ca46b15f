"""The P&L routes' answer schemas (GET /v1/pnl, /v1/pnl/{underlying}, /v1/pnl/history, POST
/v1/pnl/roll), for the OpenAPI document: $ since the start of the day; null where a figure
cannot be valued yet."""

from __future__ import annotations

from pydantic import BaseModel, Field

Money = float | None


class PnlTotalOut(BaseModel):
    pnl: Money
    options: Money
    convertibles: Money
    stock: Money
    hedge: Money
    fees: Money
    realized: Money
    unrealized: Money
    trade_edge: Money
    hedge_slippage: Money
    unpriced: list[str] = Field(description="underlyings holding positions with no spot")


class EffectivenessOut(BaseModel):
    intervals: int
    bucket_s: float
    options_std: float | None
    hedged_std: float | None
    ratio: float | None = Field(description="hedged / options std: 0 perfect, 1 no better")
    hedge_trades: int
    hedge_cost: float
    cost_per_variance_removed: float | None


class PnlUnderlyingOut(BaseModel):
    underlying: str
    as_of: str | None
    priced: bool
    pnl: Money
    options: Money
    convertibles: Money
    stock: Money
    hedge: Money
    fees: Money
    realized: Money
    unrealized: Money
    attribution: dict[str, Money] | None = Field(
        description="delta, gamma, vega, theta, rho, vanna, volga, unexplained (predict)")
    explain: dict[str, Money] | None = Field(description="time, spot, vol, rate (explain)")
    explain_to: str | None
    explain_revaluation: Money
    revaluation: Money
    residual: Money
    trade_edge: Money
    hedge_slippage: Money
    hedge_move: Money
    effectiveness: EffectivenessOut | None


class PnlPositionOut(BaseModel):
    symbol: str
    kind: str
    quantity: float
    start_quantity: float
    mark: float | None
    average_cost: float | None
    value: float | None
    multiplier: float
    realized: Money
    unrealized: Money
    fees: Money
    pnl: Money


class PnlOneOut(PnlUnderlyingOut):
    positions: list[PnlPositionOut]


class PnlBookOut(BaseModel):
    as_of: str | None
    day_start: str | None
    total: PnlTotalOut
    underlyings: dict[str, PnlUnderlyingOut]


class PnlDayOut(PnlBookOut):
    day_end: str | None
