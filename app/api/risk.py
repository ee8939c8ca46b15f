"""Risk views (CONTRACT §3): the whole book and one underlying."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.answers import RiskDetail, RiskOut, answers
from app.api.deps import ClockDep, Read, RunnerDep
from app.api.responses import Json
from app.api.schemas import SymbolPath
from app.domain import iso_utc
from app.engine.views import risk_detail_view, risk_view, total_view

router = APIRouter(prefix="/v1")


@router.get("/risk", dependencies=[Read], responses=answers(RiskOut))
async def get_risk(runner: RunnerDep, clock: ClockDep) -> Json:
    snaps = runner.read.risks()
    stamps = [r.as_of for r in snaps.values() if r.as_of is not None]
    pnl = {u: runner.read.pnl_total(u) for u in snaps}
    total = total_view(list(snaps.values()))
    total["pnl"] = sum(p for p in pnl.values() if p is not None) + 0.0
    return Json({
        "as_of": iso_utc(max(stamps) if stamps else clock.now()),
        "total": total,
        "underlyings": {u: risk_view(r, pnl[u]) for u, r in snaps.items()},
    })


@router.get("/risk/{underlying}", dependencies=[Read], responses=answers(RiskDetail))
async def get_risk_one(underlying: SymbolPath, runner: RunnerDep) -> Json:
    risk = runner.read.risk(underlying)
    return Json(risk_detail_view(risk, runner.read.pnl_total(underlying)))
