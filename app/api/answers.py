"""Response schemas: what each route answers, for the OpenAPI document (`/docs`) and for
clients that generate code from it. The routes encode with orjson; these models declare the
shapes (CONTRACT §3, §5) without being on the hot path."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class FieldError(BaseModel):
    field: str = Field(description="the offending field, dotted (e.g. `0.price`)")
    reason: str
    loc: list[str | int]
    msg: str = Field(description="the same as `reason` (FastAPI's name for it)")
    type: str = Field(description="a short error kind, e.g. `value_error`")


class ErrorOut(BaseModel):
    error: str
    detail: list[FieldError]
    status: int


class HedgeOut(BaseModel):
    instrument: str
    multiplier: float
    ratio: float
    lot_size: float


class LastTickOut(BaseModel):
    ts: str
    price: float | None
    bid: float | None
    ask: float | None


class DividendOut(BaseModel):
    ex_date: str = Field(description="when the stock goes ex (00:00 New York of the date)")
    amount: float = Field(description="cash per share")


class SurfaceConfigOut(BaseModel):
    model: str = Field(description="svi (a raw SVI smile per expiry) or ssvi (one power-law "
                       "SSVI surface)")
    stickiness: str = Field(description="strike or moneyness: how the smile moves with spot")
    refit_s: float = Field(description="seconds of wall time between refits from quotes")
    min_new_quotes: int = Field(description="new quotes that bring a refit forward")
    quote_max_age_s: float = Field(description="seconds of event time an option's own quote "
                                   "wins over the surface (and is used by a fit)")


class UnderlyingOut(BaseModel):
    symbol: str
    spot: float | None
    rate: float
    div_yield: float
    vol: float
    type: str
    hedge: HedgeOut
    max_jump_pct: float
    confirm_ticks: int
    option_style: str
    dividends: list[DividendOut]
    beta: float = Field(description="to `benchmark`: weights the beta-weighted delta")
    benchmark: str | None
    price_scan_pct: float = Field(description="span16's price scan range, % of spot")
    vol_scan: float = Field(description="span16's vol scan range (0.04 = 4 vol points)")
    surface: SurfaceConfigOut | None = None
    as_of: str | None
    last_tick: LastTickOut | None


class CallPeriodOut(BaseModel):
    from_: str = Field(alias="from")
    to: str
    price: float
    trigger: float


class PutDateOut(BaseModel):
    date: str
    price: float


class InstrumentOut(BaseModel):
    type: str
    underlying: str
    strike: float | None
    expiry: str | None
    multiplier: float
    style: str
    # a convertible's terms (type convertible only)
    face: float | None = None
    conversion_ratio: float | None = None
    coupon_rate: float | None = None
    coupon_frequency: int | None = None
    maturity: str | None = None
    credit_spread: float | None = None
    call_schedule: list[CallPeriodOut] | None = None
    put_schedule: list[PutDateOut] | None = None


class PositionOut(InstrumentOut):
    symbol: str
    quantity: float
    instrument: InstrumentOut


class HedgeChange(BaseModel):
    before: float = Field(description="units of the hedge instrument before the load")
    after: float = Field(description="units after: a load without the hedge line sets it to 0")


class LoadedOut(BaseModel):
    loaded: int
    hedges: dict[str, HedgeChange]


class RiskFigures(BaseModel):
    underlying: str
    spot: float | None
    as_of: str | None
    delta: float | None = Field(description="shares")
    gamma: float | None = Field(description="shares per $1")
    vega: float | None = Field(description="$ per vol point")
    theta: float | None = Field(description="$ per calendar day")
    rho: float | None = Field(description="$ per 1 % of rate")
    dollar_delta: float | None
    dollar_gamma: float | None
    hedge_position: float = Field(description="units of the hedge instrument")
    pending: float = Field(description="units of the hedge instrument")
    unpriced: str | None = Field(
        None, description="why the figures are null: `no market parameters`, `no spot`")
    beta: float = Field(1.0, description="the underlying's beta to its benchmark")
    beta_dollar_delta: float | None = Field(None, description="dollar_delta × beta")
    benchmark: str | None = None
    benchmark_delta: float | None = Field(
        None, description="shares of the benchmark: beta_dollar_delta / its spot")


class UnitFigures(BaseModel):
    price: float | None
    delta: float | None
    gamma: float | None
    vega: float | None
    theta: float | None
    rho: float | None
    credit_spread_sensitivity: float | None = Field(
        None, description="a convertible's: $ per 1 bp of its credit spread")
    smile_delta: float | None = None
    early_exercise_premium: float | None = None


class PositionRisk(BaseModel):
    symbol: str
    quantity: float
    price: float | None
    iv: float | None
    delta: float | None
    gamma: float | None
    vega: float | None
    theta: float | None
    rho: float | None
    unit: UnitFigures
    style: str | None = Field(None, description="an option's exercise style in force")
    vol_source: str | None = Field(None, description="where its vol came from: quote, "
                                   "surface or flat")
    smile_delta: float | None = Field(None, description="shares: delta with the smile's "
                                      "move (the figure the underlying's delta adds up)")
    early_exercise_premium: float | None = Field(None, description="$: price − the European "
                                                 "price, for the position")
    # a convertible's row (type convertible; null figures when its solve failed)
    type: str | None = None
    credit_spread_sensitivity: float | None = Field(None, description="$ per 1 bp of spread")
    bond_floor: float | None = Field(None, description="$ per bond")
    conversion_value: float | None = Field(None, description="$ per bond")
    conversion_premium: float | None = None
    accrued: float | None = Field(None, description="$ per bond")
    solve: str | None = Field(
        None, description="`fresh`, or why a re-solve is due: `event_passed`, "
        "`spot_outside_band`, `market_moved`")


class RiskDetail(RiskFigures):
    positions: list[PositionRisk]
    vega_buckets: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="vega by expiry (weekly, monthly, quarterly, longer) "
        "and by moneyness (10d_put, 25d_put, atm, 25d_call, 10d_call)")


class RiskTotal(BaseModel):
    dollar_delta: float
    dollar_gamma: float
    vega: float
    theta: float
    rho: float
    beta_dollar_delta: float = 0.0
    benchmark_delta: dict[str, float] = Field(
        default_factory=dict, description="shares of each benchmark")
    vega_buckets: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="vega by expiry and by moneyness bucket")


class RiskOut(BaseModel):
    as_of: str
    total: RiskTotal
    underlyings: dict[str, RiskFigures]


class PolicyState(BaseModel):
    band: float | None
    net_delta: float | None
    pending: float
    halted: bool
    stale: bool
    reduce_only: bool
    reduce_only_reasons: list[str]
    last_decision: str
    quiet: dict[str, int]
    breach: str | None


class PolicyOut(BaseModel):
    underlying: str
    mode: str
    target_delta: float
    band: float
    rebalance_to: str
    interval_s: float
    min_order: float
    max_order: float | None
    max_position: float | None
    pending_ttl_s: float
    stale_after_s: float | None
    cost_per_share: float
    risk_aversion: float
    max_signals_per_s: float
    max_notional_per_min: float | None
    reduce_only: bool
    state: PolicyState


class SignalOut(BaseModel):
    id: str
    seq: int
    ts: str
    underlying: str
    instrument: str
    side: str
    quantity: float
    order_qty: float
    current_position: float
    pending_before: float
    target_position: float
    net_delta_before: float
    target_delta: float
    spot: float | None
    reason: str


class CancelOut(BaseModel):
    id: str
    underlying: str
    cancelled: float
    pending: float


class HaltOut(BaseModel):
    halted: str


class ResumeOut(BaseModel):
    resumed: str


class PositionQty(BaseModel):
    symbol: str
    quantity: float


class BustOut(BaseModel):
    exec_id: str
    busted: bool
    position: PositionQty


class DifferenceOut(BaseModel):
    symbol: str
    ours: float
    broker: float
    difference: float
    underlyings: list[str]


class ReconcileOut(BaseModel):
    differences: list[DifferenceOut]
    matched: bool


class AcceptOut(BaseModel):
    accepted: list[str]
    adopted: bool


class OptionsPlanOut(BaseModel):
    underlying: str
    method: str
    exact: bool
    cost: float
    candidates: list[dict[str, Any]]
    before: dict[str, float]
    after: dict[str, float]
    share_hedge: dict[str, Any]
    signals: list[dict[str, Any]]


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (401, "no or unknown API key"),
        (403, "the key lacks the scope, or a browser's write from a foreign origin"),
        (404, "unknown underlying, symbol, signal or fill"),
        (408, "the body did not arrive within HEDGE_BODY_TIMEOUT_S"),
        (409, "a conflict (a reused exec_id, a busted fill, a halted underlying)"),
        (413, "the body is over HEDGE_MAX_BODY_BYTES"),
        (415, "a body that is not application/json"),
        (422, "a body, path or query that does not fit, naming the field"),
        (429, "over HEDGE_RATE_LIMIT (see Retry-After)"),
        (503, "the journal cannot take the write now"),
    )
}


def answers(model: Any) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route answering `model` on 200, with the error answers."""
    return {200: {"model": model}, **ERRORS}
