"""Hedge policies, signals, cancels, manual signals, the kill switch (CONTRACT §3, §5)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from app.api.deps import Admin, Read, RunnerDep, Trade
from app.api.responses import Json, raw_json_list
from app.api.schemas import HaltIn, ManualSignalIn, PolicyIn
from app.engine.runner import Runner
from app.engine.views import policy_view
from app.errors import UnknownSymbol
from app.hedging.rails import is_stale

router = APIRouter(prefix="/v1/hedge")


def _policy(runner: Runner, underlying: str) -> dict[str, Any]:
    core = runner.core
    hedger = core.hedger
    st = hedger.state(underlying)
    market = core.book.markets.get(underlying)
    stale = market is not None and is_stale(
        market.last_received, time.time(), st.policy.stale_after_s)
    return policy_view(underlying, st, hedger.is_halted(underlying), hedger.pending(underlying),
                       stale)


@router.put("/policies/{underlying}", dependencies=[Admin])
async def put_policy(underlying: str, body: PolicyIn, runner: RunnerDep) -> Json:
    """Replace the policy of one underlying; it takes effect on this very recompute."""
    runner.core.ensure_known(underlying)
    await runner.command("policy", {"underlying": underlying, "policy": body.model_dump()})
    return Json(_policy(runner, underlying))


@router.get("/policies", dependencies=[Read])
async def get_policies(runner: RunnerDep) -> Json:
    core = runner.core
    names = sorted(set(core.book.markets) | set(core.hedger.states))
    return Json({u: _policy(runner, u) for u in names})


@router.get("/signals", dependencies=[Read])
async def get_signals(
    runner: RunnerDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000,
) -> Json:
    """Signals with `seq > after`, oldest first."""
    return raw_json_list(await runner.signals_after(after, limit))


@router.post("/signals/{signal_id}/cancel", dependencies=[Trade])
async def cancel_signal(signal_id: str, runner: RunnerDep) -> Json:
    """Drop what is still pending of a signal."""
    hedger = runner.core.hedger

    def check() -> None:
        if signal_id not in hedger.signals:
            raise UnknownSymbol("signal", signal_id)

    before = hedger.signals[signal_id].remaining if signal_id in hedger.signals else 0.0
    p = await runner.command("cancel", {"signal_id": signal_id}, check)
    return Json({"id": signal_id, "underlying": p.underlying, "cancelled": before,
                 "pending": p.remaining})


@router.post("/signals", dependencies=[Admin])
async def manual_signal(body: ManualSignalIn, runner: RunnerDep) -> Json:
    """A desk's own order, published like any other with `reason: manual`."""
    sig = runner.manual_signal(body.underlying, body.order_qty, body.instrument)
    return Json(sig.as_message())


HaltBody = Annotated[HaltIn | None, Body()]


@router.post("/halt", dependencies=[Admin])
async def halt(runner: RunnerDep, body: HaltBody = None) -> Json:
    """Kill switch: no signal goes out; pending stays pending; risk keeps updating."""
    underlying = body.underlying if body else None
    if underlying is not None:
        runner.core.ensure_known(underlying)
    await runner.command("halt", {"underlying": underlying})
    return Json({"halted": underlying or "all"})


@router.post("/resume", dependencies=[Admin])
async def resume(runner: RunnerDep, body: HaltBody = None) -> Json:
    underlying = body.underlying if body else None
    if underlying is not None:
        runner.core.ensure_known(underlying)
    await runner.command("resume", {"underlying": underlying})
    return Json({"resumed": underlying or "all"})
