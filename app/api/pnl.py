"""P&L since the start of the day, its attribution and hedge effectiveness (CONTRACT §8)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.answers import answers
from app.api.deps import Admin, ClockDep, Read, RunnerDep
from app.api.pnl_answers import PnlBookOut, PnlDayOut, PnlOneOut
from app.api.responses import Json
from app.api.schemas import SymbolPath
from app.domain.timefmt import iso_utc
from app.engine.views import pnl_book_view, pnl_history_view, pnl_position_view, pnl_view

router = APIRouter(prefix="/v1")


@router.get("/pnl", dependencies=[Read], responses=answers(PnlBookOut))
async def get_pnl(runner: RunnerDep, clock: ClockDep) -> Json:
    """P&L in $ since the start of the day: the firm total and per underlying."""
    return Json(pnl_book_view(runner.read, clock.now()))


@router.get("/pnl/history", dependencies=[Read], responses=answers(list[PnlDayOut]))
async def get_pnl_history(runner: RunnerDep,
                          days: Annotated[int, Query(ge=1, le=400)] = 30) -> Json:
    """The last `days` closed days (oldest first), each as `GET /v1/pnl` answered at its
    roll, with `day_start` / `day_end`."""
    return Json(pnl_history_view(runner.read.pnl_history(days)))


@router.get("/pnl/{underlying}", dependencies=[Read], responses=answers(PnlOneOut))
async def get_pnl_one(underlying: SymbolPath, runner: RunnerDep) -> Json:
    """One underlying's P&L with its positions."""
    out = pnl_view(runner.read.pnl(underlying))
    out["positions"] = [pnl_position_view(p) for p in runner.read.pnl_positions(underlying)]
    return Json(out)


@router.post("/pnl/roll", dependencies=[Admin], responses=answers(PnlDayOut))
async def roll(runner: RunnerDep, clock: ClockDep) -> Json:
    """Close the day: the values now become tomorrow's marks, the day's figures go to the
    history (journaled). Answers the closed day."""
    read = runner.read
    stamps = [r.as_of for r in read.risks().values() if r.as_of is not None]
    as_of = max(stamps) if stamps else clock.now()
    closed = await runner.roll_day(as_of, lambda r: pnl_book_view(r, as_of))
    return Json({**closed, "day_end": iso_utc(as_of)})  # as the history keeps it
