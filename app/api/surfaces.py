"""The volatility surface of an underlying (issue 12, CONTRACT §8 `surface`): the surface in
use and its last fit, a desk's own surface, and a grid of vols for a dashboard."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.api.answers import SurfaceConfigOut, answers
from app.api.deps import Admin, ClockDep, Read, RunnerDep
from app.api.json_body import JsonRoute
from app.api.responses import Json
from app.api.schemas import SurfaceIn, SymbolPath
from app.domain import expiry_from
from app.engine.commands import SetSurface
from app.engine.views import surface_view
from app.errors import InvalidInput

router = APIRouter(prefix="/v1", route_class=JsonRoute)
MAX_GRID_STRIKES = 200
MAX_GRID_EXPIRIES = 100


class SurfaceExpiryOut(BaseModel):
    expiry: str | None
    t: float = Field(description="years to expiry from the surface's as_of")
    forward: float
    a: float
    b: float
    rho: float
    m: float
    sigma: float
    atm_vol: float
    vega: float | None = Field(description="$ per vol point: the vega of the options priced "
                               "off the surface, bucketed to this expiry (a parallel bump of "
                               "its smile)")


class SurfaceOut(BaseModel):
    underlying: str
    model: str
    config: SurfaceConfigOut
    source: str | None = Field(description="fit (from quotes) or desk (PUT); null: none yet")
    locked: bool
    version: int = Field(description="counts the surfaces swapped in")
    as_of: str | None
    spot: float | None
    expiries: list[SurfaceExpiryOut]
    ssvi: dict[str, Any] | None = None
    checks: dict[str, Any] | None = Field(description="butterfly and calendar checks of the "
                                          "surface in use")
    fit: dict[str, Any] | None = Field(description="the last fit's report: accepted or the "
                                       "reasons, RMS error in vol points, quotes used and "
                                       "rejected, its checks")
    rejected_fits: dict[str, int]
    fitting: bool
    quotes: dict[str, int]


class GridOut(BaseModel):
    underlying: str
    as_of: str | None
    spot: float
    stickiness: str
    version: int
    strikes: list[float]
    expiries: list[str]
    t: list[float]
    forwards: list[float]
    vols: list[list[float | None]] = Field(description="one row per expiry, one column per "
                                           "strike")


@router.get("/surfaces/{underlying}", dependencies=[Read], responses=answers(SurfaceOut))
async def get_surface(underlying: SymbolPath, runner: RunnerDep) -> Json:
    """The surface in use (params per expiry, source, version, as_of, its arbitrage checks),
    the last fit's report and the fits not swapped in, by reason."""
    return Json(surface_view(runner.read.surface(underlying)))


@router.put("/surfaces/{underlying}", dependencies=[Admin], responses=answers(SurfaceOut))
async def put_surface(underlying: SymbolPath, body: SurfaceIn, runner: RunnerDep,
                      clock: ClockDep) -> Json:
    """A desk's surface: raw SVI params (or SSVI's) per expiry, refused (422 naming the
    parameter) when malformed or arbitrageable; locked against refits unless `locked` is
    false. Without `expiries` only the lock changes."""
    as_of = clock.now()
    surface = None
    if body.expiries is None:
        for name in ("ssvi", "spot"):
            if getattr(body, name) is not None:
                raise InvalidInput(name, "only with `expiries` (without them only the lock "
                                   "changes)")
    else:
        items = []
        for i, e in enumerate(body.expiries):
            try:
                when = expiry_from(e.expiry, f"expiries.{i}.expiry")
            except ValueError as exc:
                raise InvalidInput.from_value_error(exc) from None
            items.append({**e.model_dump(exclude={"expiry"}), "expiry": when})
        ssvi = None if body.ssvi is None else body.ssvi.model_dump()
        surface = runner.read.desk_surface(underlying, body.model, items, ssvi, body.spot,
                                           as_of)
    await runner.execute(SetSurface(underlying, surface, as_of, body.locked))
    return Json(surface_view(runner.read.surface(underlying)))


@router.get("/surfaces/{underlying}/grid", dependencies=[Read], responses=answers(GridOut))
async def get_grid(underlying: SymbolPath, runner: RunnerDep,
                   strikes: str | None = Query(None, description="comma-separated strikes; "
                                               "default 80 %-120 % of spot by 5 %"),
                   expiries: str | None = Query(None, description="comma-separated expiry "
                                                "dates or times; default the surface's own"),
                   ) -> Json:
    """Vols on a strike × expiry grid, as the book reads them now (spot, valuation time and
    stickiness of the underlying)."""
    return Json(runner.read.surface_grid(underlying, _strikes(strikes), _expiries(expiries)))


def _strikes(text: str | None) -> list[float] | None:
    if not text:
        return None
    parts = text.split(",")
    if len(parts) > MAX_GRID_STRIKES:
        raise InvalidInput("strikes", f"at most {MAX_GRID_STRIKES}")
    out = []
    for i, p in enumerate(parts):
        try:
            x = float(p)
        except ValueError:
            raise InvalidInput(f"strikes.{i}", f"not a number: {p!r}") from None
        if not (math.isfinite(x) and x > 0):
            raise InvalidInput(f"strikes.{i}", "must be positive and finite")
        out.append(x)
    return out


def _expiries(text: str | None) -> list[float] | None:
    if not text:
        return None
    parts = text.split(",")
    if len(parts) > MAX_GRID_EXPIRIES:
        raise InvalidInput("expiries", f"at most {MAX_GRID_EXPIRIES}")
    out = []
    for i, p in enumerate(parts):
        try:
            out.append(expiry_from(p.strip(), f"expiries.{i}"))
        except ValueError as exc:
            raise InvalidInput.from_value_error(exc) from None
    return out
