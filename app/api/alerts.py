"""Limits that act and their alerts (issue 14): PUT/GET /v1/limits, the acknowledgement of a
breach, and GET /v1/alerts (the WebSocket feed is /v1/ws/alerts in `app.api.ws`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field, model_validator

from app.api.answers import answers
from app.api.deps import Admin, Read, RunnerDep
from app.api.json_body import JsonRoute
from app.api.responses import Json
from app.api.schemas import Id, IdPath, Strict, Symbol
from app.engine.commands import LimitSpec, SetLimits
from app.engine.views import alert_view, limit_view
from app.errors import InvalidInput

router = APIRouter(prefix="/v1", route_class=JsonRoute)
Level = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class LimitIn(Strict):
    """One limit: `scope` an underlying or `book`; `metric` on its size — `delta` (shares)
    and `gamma` per underlying only; `dollar_delta`, `beta_dollar_delta`, `dollar_gamma`,
    `vega`; `scenario_loss` the worst loss of `preset` (default span16); `pnl_loss` the day's
    loss in $ (GET /v1/pnl: 0 while the P&L is positive) — with `warn` ≤
    `breach` and the `action` a breach takes: alert, flatten, reduce_only or halt."""

    id: Id
    scope: Symbol = "book"
    metric: Literal["delta", "dollar_delta", "beta_dollar_delta", "gamma", "dollar_gamma",
                    "vega", "scenario_loss", "pnl_loss"]
    warn: Level
    breach: Level
    action: Literal["alert", "flatten", "reduce_only", "halt"] = "alert"
    preset: Literal["span16", "grid", "pm"] | None = None

    @model_validator(mode="after")
    def _fits(self) -> LimitIn:
        if self.warn > self.breach:
            raise ValueError("warn must not be above breach")
        if self.preset is not None and self.metric != "scenario_loss":
            raise ValueError("preset is for a scenario_loss limit only")
        if self.scope == "book" and self.metric in ("delta", "gamma"):
            raise ValueError(f"{self.metric} in shares does not add up across underlyings: "
                             f"use dollar_{self.metric} for the book")
        return self


def _limits_answer(runner: Any) -> list[dict[str, Any]]:
    return [limit_view(spec, state) for spec, state in runner.read.limits()]


@router.put("/limits", dependencies=[Admin], responses=answers(list[dict[str, Any]]))
async def put_limits(body: Annotated[list[LimitIn], Field(max_length=1000)],
                     runner: RunnerDep) -> Json:
    """Every limit, replacing what was there (journaled). A kept id keeps its state: a
    latched breach clears only by its acknowledgement."""
    seen: set[str] = set()
    for i, item in enumerate(body):
        if item.id in seen:
            raise InvalidInput(f"{i}.id", f"{item.id!r} is given twice")
        seen.add(item.id)
    specs = tuple(LimitSpec(item.id, item.scope, item.metric, item.warn, item.breach,
                            item.action, item.preset or (
                                "span16" if item.metric == "scenario_loss" else None))
                  for item in body)
    await runner.execute(SetLimits(specs))
    return Json(_limits_answer(runner))


@router.get("/limits", dependencies=[Read], responses=answers(list[dict[str, Any]]))
async def get_limits(runner: RunnerDep) -> Json:
    """Every limit with its current value, usage of the breach level (%) and state: ok,
    warn, breach (latched until acknowledged) or breach_acked (acknowledged, still outside)."""
    return Json(_limits_answer(runner))


@router.post("/limits/{id}/ack", dependencies=[Admin],
             responses=answers(dict[str, Any]))
async def ack_limit(id: IdPath, runner: RunnerDep) -> Json:
    """Acknowledge a breach: it clears now if the value is back inside, else once it is.
    404 unknown limit, 409 not in an unacknowledged breach."""
    await runner.ack_limit(id)
    return Json(next(v for v in _limits_answer(runner) if v["id"] == id))


@router.get("/alerts", dependencies=[Read], responses=answers(list[dict[str, Any]]))
async def get_alerts(runner: RunnerDep,
                     after: Annotated[int, Query(ge=0)] = 0,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Json:
    """The latest alerts (warn, breach, ack, clear, halt, resume), newest first."""
    return Json([alert_view(a) for a in runner.read.alerts(after, limit)])
