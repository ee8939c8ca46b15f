"""Risk views (CONTRACT §3): the whole book and one underlying."""

from __future__ import annotations

import time

from fastapi import APIRouter

from app.api.answers import RiskDetail, RiskOut, answers
from app.api.deps import Read, RunnerDep
from app.api.responses import Json
from app.api.schemas import SymbolPath
from app.book import UnderlyingRisk
from app.domain import iso_utc
from app.engine.runner import Runner
from app.engine.views import risk_detail_view, risk_view, total_view
from app.errors import UnknownSymbol

router = APIRouter(prefix="/v1")


def _snapshots(runner: Runner) -> dict[str, UnderlyingRisk]:
    core = runner.core
    names = set(core.book.markets) | set(core.book.groups) | set(core.risk)
    out = {}
    for u in sorted(names):
        r = core.risk.get(u)
        out[u] = r if r is not None else core.value(u)
    return out


@router.get("/risk", dependencies=[Read], responses=answers(RiskOut))
async def get_risk(runner: RunnerDep) -> Json:
    snaps = _snapshots(runner)
    stamps = [r.as_of for r in snaps.values() if r.as_of is not None]
    return Json({
        "as_of": iso_utc(max(stamps) if stamps else time.time()),
        "total": total_view(list(snaps.values())),
        "underlyings": {u: risk_view(r) for u, r in snaps.items()},
    })


@router.get("/risk/{underlying}", dependencies=[Read], responses=answers(RiskDetail))
async def get_risk_one(underlying: SymbolPath, runner: RunnerDep) -> Json:
    core = runner.core
    r = core.risk.get(underlying)
    if r is None:
        if underlying not in core.book.markets and underlying not in core.book.groups:
            raise UnknownSymbol("underlying", underlying)
        r = core.value(underlying)
    return Json(risk_detail_view(r))
