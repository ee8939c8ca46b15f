"""Liveness, readiness and metrics (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import PlainTextResponse, Response

from app.api.deps import RunnerDep
from app.api.responses import Json

router = APIRouter()


@router.get("/healthz")
async def healthz() -> Json:
    return Json({"status": "ok"})


@router.get("/readyz")
async def readyz(runner: RunnerDep) -> Json:
    """200 when the journal and the signal bus work; 503 naming what does not."""
    if not runner.ready:
        return Json({"status": "starting", "reasons": ["restoring from the journal"]},
                    status_code=503)
    problems = await runner.problems()
    if problems:
        return Json({"status": "not ready", "reasons": problems}, status_code=503)
    return Json({"status": "ready", "bus": runner.bus.name})


@router.get("/metrics", response_class=PlainTextResponse,
            responses={200: {"content": {"text/plain": {}},
                             "description": "Prometheus text exposition format"}})
async def metrics(runner: RunnerDep) -> Response:
    if runner.ready:
        runner.metrics.set_pnl(runner.read.pnl_all()[0])  # the P&L gauges, as of this scrape
    return Response(generate_latest(runner.metrics.registry), media_type=CONTENT_TYPE_LATEST)
