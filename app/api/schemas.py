"""Request and response schemas (pydantic v2): the trust boundary.

Every model forbids unknown fields and non-finite numbers (NaN, ±Infinity, 1e400), so a bad
body answers 422 naming the field, and nothing non-finite ever reaches the core."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

Finite = Annotated[float, Field(allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Vol = Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)]
Timestamp = Annotated[float, Field(ge=0, allow_inf_nan=False)] | str


def check_symbol(value: str) -> str:
    """A symbol is 1–64 printable characters with no space at either end (OCC symbols keep
    their inner padding). Control, format (bidi) and blank symbols are refused."""
    if not value or len(value) > 64:
        raise ValueError("must be 1 to 64 characters")
    if not value.isprintable() or value != value.strip():
        raise ValueError("must be printable, with no space at either end")
    return value


Symbol = Annotated[str, AfterValidator(check_symbol)]


class Strict(BaseModel):
    """Unknown fields, non-finite numbers and type coercion (true as 1, "101" as a number)
    are all refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class InstrumentFields(Strict):
    type: Literal["stock", "call", "put", "future"] | None = None
    underlying: Symbol | None = None
    strike: Positive | None = None
    expiry: Timestamp | None = None
    multiplier: Positive | None = None
    style: Literal["european", "american"] | None = None


class HedgeIn(Strict):
    instrument: Symbol | None = None
    # None: the hedge instrument's own multiplier when it is a defined instrument, else 1
    multiplier: Positive | None = None
    ratio: Positive = 1.0
    lot_size: Positive = 1.0


class UnderlyingIn(Strict):
    spot: Positive | None = None
    rate: Finite = 0.0
    div_yield: Finite = 0.0
    vol: Vol
    hedge: HedgeIn | None = None
    max_jump_pct: Positive = 10.0
    confirm_ticks: Annotated[int, Field(ge=1, le=1000)] = 3
    # None: a stock or index, unless the book defines the symbol as a future
    type: Literal["stock", "index", "future"] | None = None


class PositionIn(InstrumentFields):
    symbol: Symbol
    quantity: Finite


class TickIn(Strict):
    symbol: Symbol
    ts: Timestamp | None = None
    price: Positive | None = None
    bid: Positive | None = None
    ask: Positive | None = None
    iv: Vol | None = None

    @model_validator(mode="after")
    def _quotes(self) -> TickIn:
        if self.bid is not None and self.ask is not None and self.bid > self.ask:
            raise ValueError("bid > ask")
        if (self.bid is None) != (self.ask is None) and self.price is None and self.iv is None:
            raise ValueError("a quote needs both bid and ask")
        if self.price is None and self.iv is None and self.bid is None:
            raise ValueError("a tick needs price, iv, or bid and ask")
        return self


class FillIn(InstrumentFields):
    exec_id: Annotated[str, Field(min_length=1, max_length=128)]
    symbol: Symbol
    side: Literal["buy", "sell"]
    quantity: Positive
    price: Positive
    ts: Timestamp | None = None
    signal_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None


class PolicyIn(Strict):
    mode: Literal["off", "band", "interval", "whalley_wilmott"] = "off"
    target_delta: Finite = 0.0
    band: NonNegative = 0.0
    rebalance_to: Literal["target", "edge"] | None = None
    interval_s: Positive = 60.0
    min_order: NonNegative = 1.0
    max_order: Positive | None = None
    max_position: NonNegative | None = None
    pending_ttl_s: Positive = 30.0
    stale_after_s: Positive | None = None
    cost_per_share: NonNegative = 0.01
    risk_aversion: Positive = 1.0
    max_signals_per_s: Positive = 5.0
    max_notional_per_min: Positive | None = None
    reduce_only: bool = False


class HaltIn(Strict):
    underlying: Symbol | None = None


class ManualSignalIn(Strict):
    underlying: Symbol
    order_qty: Finite
    instrument: Symbol | None = None


class CandidateIn(InstrumentFields):
    symbol: Symbol
    bid: Positive | None = None
    ask: Positive | None = None
    iv: Vol | None = None

    @model_validator(mode="after")
    def _quotes(self) -> CandidateIn:
        if self.bid is not None and self.ask is not None and self.bid > self.ask:
            raise ValueError("bid > ask")
        return self


class TargetsIn(Strict):
    gamma: Finite | None = None
    vega: Finite | None = None


class OptionsPlanIn(Strict):
    underlying: Symbol
    candidates: Annotated[list[CandidateIn], Field(min_length=1, max_length=50)]
    targets: TargetsIn
    max_contracts: Positive | None = None


class BrokerPositionIn(Strict):
    symbol: Symbol
    quantity: Finite


class ReconcileAcceptIn(Strict):
    symbols: list[Symbol] | None = None
    adopt: bool = False


class FillAnswer(BaseModel):
    exec_id: str
    duplicate: bool
    position: dict[str, str | float]
    overfill: bool = False


class TickAnswer(BaseModel):
    accepted: int
    rejected: list[dict[str, int | str]]
