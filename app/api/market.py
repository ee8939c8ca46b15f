"""Underlyings, positions, ticks and fills (CONTRACT §3)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from app.api.answers import (
    AcceptOut,
    BustOut,
    LoadedOut,
    PositionOut,
    ReconcileOut,
    UnderlyingOut,
    answers,
)
from app.api.deps import Admin, ClockDep, Read, RunnerDep, Trade
from app.api.ingest import new_fill, parse_json
from app.api.json_body import JsonRoute
from app.api.responses import Json
from app.api.schemas import (
    BrokerPositionIn,
    FillAnswer,
    FillIn,
    IdPath,
    PositionIn,
    ReconcileAcceptIn,
    SymbolPath,
    TickAnswer,
    TickIn,
    UnderlyingIn,
)
from app.api.tick_columns import parse_tick_frame
from app.domain import HedgeRequest, ex_time_from, instrument_from_fields
from app.engine.command_codec import INSTRUMENT_FIELDS
from app.engine.commands import (
    AcceptReconcile,
    LoadPositions,
    PositionItem,
    Reconcile,
    SetUnderlying,
    SurfaceConfig,
)
from app.engine.views import market_view, position_view
from app.errors import InvalidInput

router = APIRouter(prefix="/v1", route_class=JsonRoute)


@router.put("/underlyings/{symbol}", dependencies=[Admin], responses=answers(UnderlyingOut))
async def put_underlying(symbol: SymbolPath, body: UnderlyingIn, runner: RunnerDep,
                         clock: ClockDep) -> Json:
    """Market parameters of one underlying; `spot` values it until its first tick."""
    hedge = body.hedge
    await runner.execute(SetUnderlying(
        symbol=symbol, rate=body.rate, div_yield=body.div_yield, vol=body.vol,
        wall=clock.now(), spot=body.spot,
        hedge=None if hedge is None else HedgeRequest(hedge.instrument, hedge.multiplier,
                                                      hedge.ratio, hedge.lot_size),
        max_jump_pct=body.max_jump_pct, confirm_ticks=body.confirm_ticks,
        declared_type=body.type, option_style=body.option_style,
        dividends=_dividends(body), beta=body.beta, benchmark=body.benchmark,
        price_scan_pct=body.price_scan_pct, vol_scan=body.vol_scan,
        surface=None if body.surface is None else SurfaceConfig(**body.surface.model_dump()),
        mark_source=body.mark_source))
    return Json(market_view(runner.read.market(symbol)))


def _dividends(body: UnderlyingIn) -> tuple[tuple[float, float], ...]:
    out = []
    for i, d in enumerate(body.dividends):
        try:
            out.append((ex_time_from(d.ex_date, f"dividends.{i}.ex_date"), d.amount))
        except ValueError as exc:
            raise InvalidInput.from_value_error(exc) from None
    return tuple(sorted(out))


@router.get("/underlyings", dependencies=[Read],
            responses=answers(dict[str, UnderlyingOut]))
async def get_underlyings(runner: RunnerDep) -> Json:
    return Json({sym: market_view(m) for sym, m in runner.read.markets().items()})


@router.put("/positions", dependencies=[Admin], responses=answers(LoadedOut))
async def put_positions(body: list[PositionIn], runner: RunnerDep) -> Json:
    """Replace the whole book (start-of-day load), all or nothing — hedge positions
    included: the answer shows each underlying's hedge position before and after."""
    items = []
    for i, p in enumerate(body):
        fields = {k: v for k, v in p.model_dump(exclude_none=True, by_alias=True).items()
                  if k in INSTRUMENT_FIELDS}
        try:
            items.append(PositionItem(instrument_from_fields(p.symbol, fields), p.quantity,
                                      p.mark))
        except ValueError as exc:
            raise InvalidInput.from_value_error(exc, prefix=f"{i}.") from None
    outcome = await runner.execute(LoadPositions(tuple(items)))
    return Json({"loaded": outcome.loaded, "hedges": {
        u: {"before": before, "after": after} for u, (before, after) in outcome.hedges.items()}})


@router.get("/positions", dependencies=[Read], responses=answers(list[PositionOut]))
async def get_positions(runner: RunnerDep) -> Json:
    return Json([position_view(p) for p in runner.read.positions()])


_TICK_SCHEMA = TickIn.model_json_schema()
_TICK_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"anyOf": [
            _TICK_SCHEMA, {"type": "array", "items": _TICK_SCHEMA},
        ]}}},
    }
}


@router.post("/ticks", dependencies=[Trade], responses=answers(TickAnswer),
             openapi_extra=_TICK_BODY)
async def post_ticks(request: Request, runner: RunnerDep, clock: ClockDep) -> Json:
    """One tick or a list. A list answers 200 with the rejected items listed; a single tick
    that is rejected answers 422 (404 for an unknown symbol)."""
    data = parse_json(await request.body())
    single = isinstance(data, dict)
    if not single and not isinstance(data, list):
        raise InvalidInput("body", "expected a tick object or a list of ticks")
    items = [data] if single else data
    accepted, rejected = runner.ingest_frame(parse_tick_frame(items, clock.now()))
    if single and rejected:
        raise rejected[0][1]
    return Json({"accepted": accepted,
                 "rejected": [{"index": i, "error": str(e)} for i, e in rejected]})


@router.put("/positions/reconcile", dependencies=[Admin], responses=answers(ReconcileOut))
async def reconcile(body: list[BrokerPositionIn], runner: RunnerDep) -> Json:
    """Compare the broker's positions with ours; every symbol that differs puts the
    underlyings it touches in reduce-only until an admin accepts."""
    diffs = await runner.execute(Reconcile(tuple((p.symbol, p.quantity) for p in body)))
    return Json({"differences": diffs, "matched": not diffs})


@router.post("/positions/reconcile/accept", dependencies=[Admin],
             responses=answers(AcceptOut))
async def accept_reconcile(runner: RunnerDep, body: ReconcileAcceptIn | None = None) -> Json:
    """Lift reduce-only for the given symbols (all when none); `adopt` first takes the
    broker's quantities as ours."""
    body = body or ReconcileAcceptIn()
    cleared = await runner.execute(AcceptReconcile(
        None if body.symbols is None else tuple(body.symbols), body.adopt))
    return Json({"accepted": cleared, "adopted": body.adopt})


@router.post("/fills/{exec_id}/bust", dependencies=[Admin], responses=answers(BustOut))
async def bust_fill(exec_id: IdPath, runner: RunnerDep) -> Json:
    """Reverse an acknowledged fill (the broker busted it); journaled like the fill."""
    return Json(await runner.bust(exec_id))


@router.get("/fills", dependencies=[Read], responses=answers(list[dict[str, Any]]))
async def get_fills(runner: RunnerDep,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Json:
    """The latest fills, newest first, as journaled (`busted` when reversed since)."""
    return Json(await runner.recent_fills(limit))


@router.post("/fills", dependencies=[Trade], responses=answers(FillAnswer))
async def post_fill(body: FillIn, runner: RunnerDep, clock: ClockDep) -> Json:
    """Journaled before it is applied and answered; idempotent on `exec_id`."""
    return Json(await runner.submit_fill(new_fill(body, clock.now())))

