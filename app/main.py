"""create_app(settings) -> FastAPI. The lifespan is the one composition root: only here are
the concrete journal, bus and clock chosen and wired to the core."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__
from app.adapters.journal import SqliteJournal
from app.adapters.memory_bus import MemoryBus
from app.api import dashboard, docs, errors, hedge, market, ops, pnl, risk, ws
from app.api.gate import Gate, KeyRing, RateLimit
from app.api.limits import BodyLimit
from app.domain import Clock, WallClock
from app.engine.core import Core
from app.engine.metrics import Metrics
from app.engine.pnl_day import RollTime
from app.engine.ports import SignalBus
from app.engine.runner import Runner
from app.pricing import warm_up
from app.settings import Settings

log = logging.getLogger("dynhedge")


def make_bus(settings: Settings) -> SignalBus:
    if settings.redis_url:
        from app.adapters.redis_bus import RedisBus

        return RedisBus(
            settings.redis_url,
            settings.signal_channel,
            settings.signal_stream,
            maxlen=settings.stream_maxlen,
            timeout_s=settings.redis_timeout_ms / 1000.0,
        )
    return MemoryBus()


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    clock = clock or WallClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warm_up()  # compile/load the kernels now, never on the first tick
        if not app.state.keys.enabled:
            log.warning("HEDGE_API_KEYS is unset: no authentication, every client is admin")
        core = Core(clock, max_clock_skew_s=settings.max_clock_skew_s)
        runner = Runner(
            core,
            SqliteJournal(settings.db_path),
            make_bus(settings),
            Metrics(),
            outbox_size=settings.outbox_size,
            feed_size=settings.ws_queue_size,
            risk_push_hz=settings.risk_push_hz,
            snapshot_every=settings.snapshot_every,
            tick_checkpoint_s=settings.tick_checkpoint_s,
            roll=None if settings.pnl_roll_at is None else RollTime.parse(
                settings.pnl_roll_at, settings.pnl_roll_tz),
        )
        app.state.runner = runner
        await runner.start()
        log.info("dynhedge %s ready: bus=%s journal=%s", __version__, runner.bus.name,
                 settings.db_path)
        try:
            yield
        finally:
            await runner.stop()

    app = FastAPI(
        title="dynhedge",
        version=__version__,
        summary="Real-time portfolio Greeks and dynamic hedge signals for options desks",
        lifespan=lifespan,
        docs_url=None,  # app/api/docs.py serves /docs from local files; no ReDoc
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.clock = clock  # the one clock: routes take receive times from it
    app.state.keys = KeyRing(settings.key_scopes())
    app.state.rate_limit = RateLimit(settings.rate_limit)
    app.state.origins = settings.origins()
    errors.install(app)
    for module in (ops, market, risk, pnl, hedge, ws, dashboard, docs):
        app.include_router(module.router)
    # the last added runs first: the gate (key, scope, origin, content type) decides before
    # the body limit reads a byte
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       timeout_s=settings.body_timeout_s)
    app.add_middleware(Gate, keys=app.state.keys, rate_limit=app.state.rate_limit,
                       origins=app.state.origins, max_quantity=settings.max_quantity)
    return app
