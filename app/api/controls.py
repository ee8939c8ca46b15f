"""Risk controls (issue 14): scenario P&L by full revaluation. (Limits and alerts:
`app.api.limits_routes`.)"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import Field, model_validator

from app.api.answers import answers
from app.api.deps import Read, RunnerDep
from app.api.json_body import JsonRoute
from app.api.responses import Json
from app.api.schemas import Strict, Symbol
from app.domain import iso_utc
from app.engine.read import ScenarioRequest

router = APIRouter(prefix="/v1", route_class=JsonRoute)

SpotMove = Annotated[float, Field(gt=-100, le=1000, allow_inf_nan=False)]
VolMove = Annotated[float, Field(ge=-10, le=10, allow_inf_nan=False)]
RateMove = Annotated[float, Field(ge=-5000, le=5000, allow_inf_nan=False)]


class ScenariosIn(Strict):
    """`spot_moves_pct` (% of spot), `vol_moves` (fractions: absolute 0.04 = +4 vol points,
    relative −0.3 = vol × 0.7), `rate_moves_bp`; or a `preset` (span16, grid, pm) that fixes
    the axes. `move: beta` moves each underlying by its beta × the spot move."""

    underlyings: Annotated[list[Symbol], Field(min_length=1, max_length=1000)] | None = None
    preset: Literal["span16", "grid", "pm"] | None = None
    spot_moves_pct: Annotated[list[SpotMove], Field(min_length=1, max_length=200)] | None = None
    vol_moves: Annotated[list[VolMove], Field(min_length=1, max_length=200)] | None = None
    vol_mode: Literal["absolute", "relative"] | None = None
    rate_moves_bp: Annotated[list[RateMove], Field(min_length=1, max_length=50)] | None = None
    days_forward: Annotated[float, Field(ge=0, le=3650, allow_inf_nan=False)] = 0.0
    move: Literal["own", "beta"] = "own"

    @model_validator(mode="after")
    def _axes(self) -> ScenariosIn:
        given = [n for n in ("spot_moves_pct", "vol_moves", "vol_mode", "rate_moves_bp")
                 if getattr(self, n) is not None]
        if self.preset is not None and given:
            raise ValueError(f"a preset fixes the axes: leave out {', '.join(given)}")
        if self.preset is None and self.spot_moves_pct is None and self.vol_moves is None:
            raise ValueError("give a preset, or spot_moves_pct and/or vol_moves")
        return self

    def request(self) -> ScenarioRequest:
        return ScenarioRequest(
            underlyings=None if self.underlyings is None else tuple(self.underlyings),
            preset=self.preset,
            spot_moves_pct=tuple(self.spot_moves_pct or (0.0,)),
            vol_moves=tuple(self.vol_moves or (0.0,)),
            vol_mode=self.vol_mode or "absolute",
            rate_moves_bp=tuple(self.rate_moves_bp or (0.0,)),
            days_forward=self.days_forward,
            move=self.move)


@router.post("/risk/scenarios", dependencies=[Read], responses=answers(dict[str, Any]))
async def post_scenarios(body: ScenariosIn, runner: RunnerDep) -> Json:
    """P&L by full revaluation for every cell, per underlying and in total, with the delta,
    gamma and vega after (the same pricing as the risk view; nothing changes)."""
    answer = runner.read.scenarios(body.request())
    answer["as_of"] = iso_utc(answer["as_of"])
    return Json(answer)
