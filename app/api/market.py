"""Underlyings, positions, ticks and fills (CONTRACT §3)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from app.api.answers import (
    AcceptOut,
    BustOut,
    LoadedOut,
    PositionOut,
    ReconcileOut,
    UnderlyingOut,
    answers,
)
from app.api.deps import Admin, Read, RunnerDep, Trade
from app.api.ingest import fill_body, parse_json, parse_ticks
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
from app.domain import instrument_from_fields, iso_utc
from app.engine.commands import instrument_fields
from app.errors import InvalidInput

router = APIRouter(prefix="/v1", route_class=JsonRoute)


@router.put("/underlyings/{symbol}", dependencies=[Admin], responses=answers(UnderlyingOut))
async def put_underlying(symbol: SymbolPath, body: UnderlyingIn, runner: RunnerDep) -> Json:
    """Market parameters of one underlying; `spot` values it until its first tick."""
    data: dict[str, Any] = {"symbol": symbol, **body.model_dump(exclude_none=True),
                            "wall": time.time()}
    await runner.command("underlying", data)
    return Json(_market_view(runner.core.book.markets[symbol].as_dict()))


@router.get("/underlyings", dependencies=[Read],
            responses=answers(dict[str, UnderlyingOut]))
async def get_underlyings(runner: RunnerDep) -> Json:
    markets = runner.core.book.markets
    return Json({sym: _market_view(m.as_dict()) for sym, m in sorted(markets.items())})


def _market_view(view: dict[str, Any]) -> dict[str, Any]:
    view["as_of"] = iso_utc(view["as_of"])
    if view["last_tick"] is not None:
        view["last_tick"]["ts"] = iso_utc(view["last_tick"]["ts"])
    return view


@router.put("/positions", dependencies=[Admin], responses=answers(LoadedOut))
async def put_positions(body: list[PositionIn], runner: RunnerDep) -> dict[str, int]:
    """Replace the whole book (start-of-day load), all or nothing."""
    items = [p.model_dump(exclude_none=True) for p in body]

    def check() -> None:
        for i, p in enumerate(items):
            try:
                instrument_from_fields(p["symbol"], instrument_fields(p))
            except ValueError as exc:
                raise InvalidInput.from_value_error(exc, prefix=f"{i}.") from None

    loaded = await runner.command("positions", {"positions": items}, check)
    return {"loaded": loaded}


@router.get("/positions", dependencies=[Read], responses=answers(list[PositionOut]))
async def get_positions(runner: RunnerDep) -> Json:
    out = []
    for sym, pos in sorted(runner.core.book.positions.items()):
        inst = pos.instrument
        instrument = {
            "type": inst.type.value,
            "underlying": inst.underlying,
            "strike": inst.strike,
            "expiry": iso_utc(inst.expiry),
            "multiplier": inst.multiplier,
            "style": inst.style,
        }
        out.append({"symbol": sym, "quantity": pos.quantity, **instrument,
                    "instrument": instrument})
    return Json(out)


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
async def post_ticks(request: Request, runner: RunnerDep) -> Json:
    """One tick or a list. A list answers 200 with the rejected items listed; a single tick
    that is rejected answers 422 (404 for an unknown symbol)."""
    data = parse_json(await request.body())
    single = isinstance(data, dict)
    if not single and not isinstance(data, list):
        raise InvalidInput("body", "expected a tick object or a list of ticks")
    items = [data] if single else data
    ticks = parse_ticks(items)
    accepted, rejected = runner.ingest_ticks(ticks)
    if single and rejected:
        raise rejected[0][1]
    return Json({"accepted": accepted,
                 "rejected": [{"index": i, "error": str(e)} for i, e in rejected]})


@router.put("/positions/reconcile", dependencies=[Admin], responses=answers(ReconcileOut))
async def reconcile(body: list[BrokerPositionIn], runner: RunnerDep) -> Json:
    """Compare the broker's positions with ours; every symbol that differs puts the
    underlyings it touches in reduce-only until an admin accepts."""
    items = [p.model_dump() for p in body]
    diffs = await runner.command("reconcile", {"positions": items})
    return Json({"differences": diffs, "matched": not diffs})


@router.post("/positions/reconcile/accept", dependencies=[Admin],
             responses=answers(AcceptOut))
async def accept_reconcile(runner: RunnerDep, body: ReconcileAcceptIn | None = None) -> Json:
    """Lift reduce-only for the given symbols (all when none); `adopt` first takes the
    broker's quantities as ours."""
    body = body or ReconcileAcceptIn()
    cleared = await runner.command("reconcile_accept", body.model_dump())
    return Json({"accepted": cleared, "adopted": body.adopt})


@router.post("/fills/{exec_id}/bust", dependencies=[Admin], responses=answers(BustOut))
async def bust_fill(exec_id: IdPath, runner: RunnerDep) -> Json:
    """Reverse an acknowledged fill (the broker busted it); journaled like the fill."""
    return Json(await runner.bust(exec_id))


@router.post("/fills", dependencies=[Trade], responses=answers(FillAnswer))
async def post_fill(body: FillIn, runner: RunnerDep) -> Json:
    """Journaled before it is applied and answered; idempotent on `exec_id`."""
    data, payload = fill_body(body, time.time())
    return Json(await runner.submit_fill(data, payload))

