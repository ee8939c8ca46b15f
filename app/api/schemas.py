"""Request and response schemas (pydantic v2): the trust boundary.

Every model forbids unknown fields and non-finite numbers (NaN, ±Infinity, 1e400), so a bad
body answers 422 naming the field, and nothing non-finite ever reaches the core. Besides:

- times lie in the windows of `app.domain.timefmt`: an expiry from 1970 to before 2200, an
  event's `ts` from 2000 to before 2200 (the core refuses one past the clock skew);
- symbols and ids are printable: no control (C0, C1, DEL) or format (bidi) characters, so
  none can forge a log line or hide in a view;
- quantities (fills, positions, manual signals, a policy's order fields, lots) are at most
  HEDGE_MAX_QUANTITY units in size. The limit is the service's setting; the request gate sets
  it for each request in `MAX_QUANTITY` (its default is the setting's default)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Annotated, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app.domain import expiry_from, parse_ts
from app.domain.timefmt import EARLIEST_EVENT_TS, EARLIEST_TS, LATEST_TS
from app.settings import DEFAULT_MAX_QUANTITY

MAX_QUANTITY: ContextVar[float] = ContextVar("max_quantity", default=DEFAULT_MAX_QUANTITY)


def _reason(exc: ValueError) -> str:
    """The reason of a domain `ValueError("field: reason")` (pydantic names the field)."""
    named, sep, reason = str(exc).partition(": ")
    return reason if sep else named


def _within_max(value: float) -> float:
    limit = MAX_QUANTITY.get()
    if abs(value) > limit:
        raise ValueError(f"must be at most {limit:g} units in size (HEDGE_MAX_QUANTITY)")
    return value


def _event_epoch(value: str) -> float:
    try:
        return parse_ts(value, "ts", earliest=EARLIEST_EVENT_TS)
    except ValueError as exc:
        raise ValueError(_reason(exc)) from None


def _event_time(value: str) -> str:
    _event_epoch(value)
    return value


def _expiry(value: str) -> str:
    try:
        expiry_from(value)
    except ValueError as exc:
        raise ValueError(_reason(exc)) from None
    return value


Finite = Annotated[float, Field(allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Vol = Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)]
# quantities in units, at most HEDGE_MAX_QUANTITY in size
Quantity = Annotated[float, Field(allow_inf_nan=False), AfterValidator(_within_max)]
PositiveQuantity = Annotated[float, Field(gt=0, allow_inf_nan=False),
                             AfterValidator(_within_max)]
NonNegativeQuantity = Annotated[float, Field(ge=0, allow_inf_nan=False),
                                AfterValidator(_within_max)]
# an event's time: epoch seconds, checked in Rust (the tick hot path), or an ISO string,
# checked by the domain's parser — kept as given (a fill's payload is what the client sent)...
_EventSeconds = Annotated[float, Field(ge=EARLIEST_EVENT_TS, lt=LATEST_TS, allow_inf_nan=False)]
EventTime = _EventSeconds | Annotated[str, AfterValidator(_event_time)]
# ...or, for a tick, turned into epoch seconds as it is checked (parsed once)
TickTime = _EventSeconds | Annotated[str, AfterValidator(_event_epoch)]
Expiry = (Annotated[float, Field(ge=EARLIEST_TS, lt=LATEST_TS, allow_inf_nan=False)]
          | Annotated[str, AfterValidator(_expiry)])


def check_symbol(value: str) -> str:
    """A symbol is 1–64 printable characters with no space at either end (OCC symbols keep
    their inner padding). Control, format (bidi) and blank symbols are refused."""
    if not value or len(value) > 64:
        raise ValueError("must be 1 to 64 characters")
    if not value.isprintable() or value != value.strip():
        raise ValueError("must be printable, with no space at either end")
    return value


def check_id(value: str) -> str:
    """An id (exec_id, signal_id) is 1–128 printable characters: no control (C0, C1, DEL) or
    format (bidi) characters."""
    if not value or len(value) > 128:
        raise ValueError("must be 1 to 128 characters")
    if not value.isprintable():
        raise ValueError("must be printable: no control or format characters")
    return value


Symbol = Annotated[str, AfterValidator(check_symbol)]
Id = Annotated[str, AfterValidator(check_id)]
# path parameters obey the same rules as the body's fields
SymbolPath = Annotated[str, Path(), AfterValidator(check_symbol)]
IdPath = Annotated[str, Path(), AfterValidator(check_id)]


class Strict(BaseModel):
    """Unknown fields, non-finite numbers and type coercion (true as 1, "101" as a number)
    are all refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class CallPeriodIn(Strict):
    """A period in which the issuer may call the convertible at the clean `price` (+
    accrued); `trigger` > 0: a soft call, only while the stock is at or above trigger ×
    the conversion price."""

    from_: Expiry = Field(alias="from")
    to: Expiry
    price: Positive
    trigger: NonNegative | None = None


class PutDateIn(Strict):
    """A date on which the holder may put the convertible back at the clean `price`."""

    date: Expiry
    price: Positive


class InstrumentFields(Strict):
    type: Literal["stock", "call", "put", "future", "convertible"] | None = None
    underlying: Symbol | None = None
    strike: Positive | None = None
    expiry: Expiry | None = None
    multiplier: Positive | None = None
    style: Literal["european", "american"] | None = None
    # a convertible's terms (app.domain.convertible)
    face: Positive | None = None
    conversion_ratio: Positive | None = None
    coupon_rate: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    coupon_frequency: Literal[1, 2, 4, 12] | None = None
    maturity: Expiry | None = None
    credit_spread: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    call_schedule: Annotated[list[CallPeriodIn], Field(max_length=200)] | None = None
    put_schedule: Annotated[list[PutDateIn], Field(max_length=200)] | None = None


class HedgeIn(Strict):
    instrument: Symbol | None = None
    # None: the hedge instrument's own multiplier when it is a defined instrument, else 1
    multiplier: Positive | None = None
    ratio: Positive = 1.0
    lot_size: PositiveQuantity = 1.0


class DividendIn(Strict):
    """A cash dividend: the stock drops by `amount` (cash per share) at 00:00 New York on
    `ex_date` (a date; a datetime is taken as given)."""

    ex_date: Expiry
    amount: Annotated[float, Field(ge=0, allow_inf_nan=False)]


class SurfaceConfigIn(Strict):
    """`surface` of PUT /v1/underlyings: fit a volatility surface from its options' quotes."""

    model: Literal["svi", "ssvi"] = "svi"
    stickiness: Literal["strike", "moneyness"] = "moneyness"
    refit_s: Annotated[float, Field(gt=0, le=86_400, allow_inf_nan=False)] = 60.0
    min_new_quotes: Annotated[int, Field(ge=1, le=1_000_000)] = 20
    quote_max_age_s: Annotated[float, Field(gt=0, le=86_400 * 7, allow_inf_nan=False)] = 60.0


class SurfaceExpiryIn(Strict):
    """One expiry of a desk's surface: raw SVI params in total variance against k = ln(K/F)
    (model svi), or SSVI's at-the-money total variance `theta` (model ssvi); `forward`
    defaults to the underlying's."""

    expiry: Expiry
    a: Finite | None = None
    b: Finite | None = None
    rho: Finite | None = None
    m: Finite | None = None
    sigma: Finite | None = None
    theta: Finite | None = None
    forward: Positive | None = None


class SsviIn(Strict):
    rho: Finite
    eta: Finite
    gamma: Finite


class SurfaceIn(Strict):
    """PUT /v1/surfaces/{underlying}: a desk's surface, locked against refits unless `locked`
    is false; without `expiries` only the lock changes (the surface in use stays)."""

    model: Literal["svi", "ssvi"] = "svi"
    expiries: Annotated[list[SurfaceExpiryIn], Field(min_length=1, max_length=100)] | None = None
    ssvi: SsviIn | None = None
    spot: Positive | None = None
    locked: bool = True


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
    # the exercise style of its options that give none of their own (listed US equity and ETF
    # options are American; index options such as SPX European)
    option_style: Literal["european", "american"] = "european"
    dividends: Annotated[list[DividendIn], Field(max_length=400)] = []
    # risk controls: beta to the benchmark (beta-weighted delta), the span16 scan ranges
    beta: Annotated[float, Field(ge=-20, le=20, allow_inf_nan=False)] = 1.0
    benchmark: Symbol | None = None
    price_scan_pct: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] = 15.0
    vol_scan: Annotated[float, Field(gt=0, le=5, allow_inf_nan=False)] = 0.04
    surface: SurfaceConfigIn | None = None  # None: no surface (quotes, else the flat vol)
    # how its options are marked for P&L: the model value, or the quoted mid when fresh
    mark_source: Literal["theo", "mid"] = "theo"


class PositionIn(InstrumentFields):
    symbol: Symbol
    quantity: Quantity
    # the per-unit start-of-day price (yesterday's close); absent: the model value at the load
    mark: NonNegative | None = None


class TickIn(Strict):
    symbol: Symbol
    ts: TickTime | None = None
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
    exec_id: Id
    symbol: Symbol
    side: Literal["buy", "sell"]
    quantity: PositiveQuantity
    price: Positive
    ts: EventTime | None = None
    signal_id: Id | None = None
    fee: NonNegative = 0.0  # $ for the whole fill, subtracted from P&L


class PolicyIn(Strict):
    mode: Literal["off", "band", "interval", "whalley_wilmott"] = "off"
    target_delta: Finite = 0.0
    band: NonNegative = 0.0
    rebalance_to: Literal["target", "edge"] | None = None
    interval_s: Positive = 60.0
    min_order: NonNegativeQuantity = 1.0
    max_order: PositiveQuantity | None = None
    max_position: NonNegativeQuantity | None = None
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
    order_qty: Quantity
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
    max_contracts: PositiveQuantity | None = None


class BrokerPositionIn(Strict):
    symbol: Symbol
    quantity: Quantity


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
