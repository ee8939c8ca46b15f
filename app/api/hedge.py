"""Hedge policies, signals, cancels, manual signals, the kill switch (CONTRACT §3, §5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from pydantic import TypeAdapter, ValidationError

from app.api.answers import (
    CancelOut,
    HaltOut,
    OptionsPlanOut,
    PolicyOut,
    ResumeOut,
    SignalOut,
    answers,
)
from app.api.deps import Admin, ClockDep, Read, RunnerDep, Trade
from app.api.ingest import invalid, parse_json
from app.api.json_body import JsonRoute
from app.api.responses import Json, raw_json_list
from app.api.schemas import HaltIn, IdPath, ManualSignalIn, OptionsPlanIn, PolicyIn, SymbolPath
from app.engine.commands import CancelSignal, Halt, Resume, SetPolicy
from app.engine.runner import Runner
from app.engine.views import policy_view
from app.errors import InvalidInput
from app.hedging import HedgePolicy

router = APIRouter(prefix="/v1/hedge", route_class=JsonRoute)


@router.put("/policies/{underlying}", dependencies=[Admin], responses=answers(PolicyOut))
async def put_policy(underlying: SymbolPath, body: PolicyIn, runner: RunnerDep,
                     clock: ClockDep) -> Json:
    """Replace the policy of one underlying; it takes effect on this very recompute."""
    await runner.execute(SetPolicy(underlying, HedgePolicy.from_mapping(body.model_dump())))
    return Json(policy_view(runner.read.policy(underlying, clock.now())))


@router.get("/policies", dependencies=[Read], responses=answers(dict[str, PolicyOut]))
async def get_policies(runner: RunnerDep, clock: ClockDep) -> Json:
    return Json({u: policy_view(v) for u, v in runner.read.policies(clock.now()).items()})


@router.get("/signals", dependencies=[Read], responses=answers(list[SignalOut]))
async def get_signals(
    runner: RunnerDep,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000,
) -> Json:
    """Signals with `seq > after`, oldest first."""
    return raw_json_list(await runner.signals_after(after, limit))


@router.post("/signals/{signal_id}/cancel", dependencies=[Trade],
             responses=answers(CancelOut))
async def cancel_signal(signal_id: IdPath, runner: RunnerDep) -> Json:
    """Drop what is still pending of a signal."""
    before = runner.read.signal_remaining(signal_id) or 0.0
    p = await runner.execute(CancelSignal(signal_id))
    return Json({"id": signal_id, "underlying": p.underlying, "cancelled": before,
                 "pending": p.remaining})


_MANUAL_SCHEMA = ManualSignalIn.model_json_schema()
_MANUAL_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "anyOf": [_MANUAL_SCHEMA, {"type": "array", "items": _MANUAL_SCHEMA}]}}}}}
_MANUAL_LIST = TypeAdapter(list[ManualSignalIn])


@router.post("/signals", dependencies=[Admin], openapi_extra=_MANUAL_BODY,
             responses=answers(SignalOut | list[SignalOut]))
async def manual_signal(request: Request, runner: RunnerDep) -> Json:
    """A desk's own order — or a set of them, e.g. an options plan's `signals` — published
    like any other with `reason: manual`. A set is checked whole before any goes out."""
    body: ManualSignalIn | list[ManualSignalIn]
    data = parse_json(await request.body())
    try:
        if isinstance(data, list):
            body = _MANUAL_LIST.validate_python(data)
        else:
            body = ManualSignalIn.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc) from None
    items = body if isinstance(body, list) else [body]
    for i, m in enumerate(items):
        if m.order_qty == 0:
            raise InvalidInput(f"{i}.order_qty" if len(items) > 1 else "order_qty",
                               "must not be 0")
    sent = [s.as_message() for s in await runner.manual_signals(
        [(m.underlying, m.order_qty, m.instrument) for m in items])]
    return Json(sent if isinstance(body, list) else sent[0])


@router.post("/options-plan", dependencies=[Read], responses=answers(OptionsPlanOut))
async def post_options_plan(body: OptionsPlanIn, runner: RunnerDep) -> Json:
    """Advisory: option quantities that bring gamma and vega to the targets at least cost,
    the Greeks after, and the share hedge that re-neutralizes delta. Publishes nothing."""
    return Json(runner.read.options_plan(
        body.underlying, [c.model_dump(exclude_none=True) for c in body.candidates],
        body.targets.gamma, body.targets.vega, body.max_contracts))


HaltBody = Annotated[HaltIn | None, Body()]


async def _kill_switch(runner: Runner, halt: bool, body: HaltIn | None) -> Json:
    underlying = body.underlying if body else None
    await runner.execute(Halt(underlying) if halt else Resume(underlying))
    return Json({"halted" if halt else "resumed": underlying or "all"})


@router.post("/halt", dependencies=[Admin], responses=answers(HaltOut))
async def halt(runner: RunnerDep, body: HaltBody = None) -> Json:
    """Kill switch: no signal goes out; pending stays pending; risk keeps updating."""
    return await _kill_switch(runner, True, body)


@router.post("/resume", dependencies=[Admin], responses=answers(ResumeOut))
async def resume(runner: RunnerDep, body: HaltBody = None) -> Json:
    return await _kill_switch(runner, False, body)
