"""create_app(settings) -> FastAPI. The lifespan is the one composition root: only here are
the concrete journal, bus and clock chosen and wired to the core."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__
from app.adapters.firm_exchange import FirmExchange
from app.adapters.journal import SqliteJournal
from app.adapters.memory_bus import MemoryBus
from app.adapters.risk_publisher import RiskPublisher
from app.adapters.shard_registry import ShardRegistry
from app.api import (
    alerts,
    controls,
    dashboard,
    docs,
    errors,
    hedge,
    market,
    ops,
    pnl,
    risk,
    surfaces,
    whoami,
    ws,
)
from app.api.gate import Gate, KeyRing, RateLimit
from app.api.limits import BodyLimit
from app.domain import Clock, WallClock
from app.engine.core import Core
from app.engine.metrics import Metrics
from app.engine.pnl_day import RollTime
from app.engine.ports import SignalBus
from app.engine.runner import Runner
from app.engine.views import risk_view
from app.pricing import warm_up
from app.settings import Settings
from app.surface import warm_up as warm_up_surface

log = logging.getLogger("dynhedge")


def make_bus(settings: Settings) -> SignalBus:
    if settings.redis_url:
        from app.adapters.redis_bus import RedisBus

        return RedisBus(
            settings.redis_url,
            settings.signal_channel,
            settings.signal_stream_name(),
            maxlen=settings.stream_maxlen,
            timeout_s=settings.redis_timeout_ms / 1000.0,
            alert_channel=settings.alert_channel,
            alert_stream=settings.alert_stream,
        )
    return MemoryBus()


async def register_shard(settings: Settings) -> ShardRegistry | None:
    """A shard with Redis registers its address under a lease (app.adapters.shard_registry);
    without Redis there is no registry, and gateways cannot find it."""
    shard = settings.the_shard()
    if shard is None:
        return None
    if not settings.redis_url:
        log.warning("shard %s without HEDGE_REDIS_URL: not registered, no gateway will find "
                    "it", shard.label)
        return None
    registry = ShardRegistry(settings.redis_url, settings.registry_prefix,
                             settings.shard_lease_s, settings.redis_timeout_ms / 1000.0)
    url = settings.shard_url or f"http://{settings.host}:{settings.port}"
    if await registry.register(shard, url):
        log.info("shard %s registered at %s (lease %g s)", shard.label, url,
                 settings.shard_lease_s)
    return registry


def publish_risk(settings: Settings, runner: Runner) -> RiskPublisher | None:
    """A shard with Redis writes each recomputed underlying's figures there (the firm-wide
    aggregate's record: app.adapters.risk_publisher)."""
    shard = settings.the_shard()
    if shard is None or not settings.redis_url:
        return None
    publisher = RiskPublisher(settings.redis_url, settings.risk_prefix, shard,
                              settings.redis_timeout_ms / 1000.0)
    publisher.start(runner.risk_feed.subscribe,
                    lambda: [risk_view(r) for r in runner.read.risks().values()])
    return publisher


def exchange_firm_figures(settings: Settings, runner: Runner) -> FirmExchange | None:
    """Shards of more than one judge their book limits on the firm's figures, exchanged over
    Redis (app.adapters.firm_exchange)."""
    shard = settings.the_shard()
    if shard is None or shard.count < 2 or not settings.redis_url:
        return None
    exchange = FirmExchange(settings.redis_url, settings.risk_prefix, shard,
                            settings.redis_timeout_ms / 1000.0)
    exchange.start(lambda: runner.core.limits.own_part(runner.core), runner.judge_firm)
    return exchange


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    clock = clock or WallClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warm_up()  # compile/load the kernels now, never on the first tick
        warm_up_surface()  # ... nor on the first fit or surface lookup
        if not app.state.keys.enabled:
            log.warning("HEDGE_API_KEYS is unset: no authentication, every client is admin")
        shard = settings.the_shard()
        core = Core(clock, max_clock_skew_s=settings.max_clock_skew_s,
                    max_order_units=settings.max_quantity, shard=shard)
        runner = Runner(
            core,
            SqliteJournal(settings.journal_path()),
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
        log.info("dynhedge %s ready: bus=%s journal=%s%s", __version__, runner.bus.name,
                 settings.journal_path(), "" if shard is None else f" shard={shard.label}")
        registry = await register_shard(settings)
        publisher = publish_risk(settings, runner)
        exchange = exchange_firm_figures(settings, runner)
        try:
            yield
        finally:
            if exchange is not None:
                await exchange.close()
            if registry is not None:  # gateways stop routing here before the book closes
                await registry.withdraw()
                await registry.close()
            if publisher is not None:
                await publisher.close()
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
    for module in (ops, market, controls, alerts, whoami, risk, surfaces, pnl, hedge, ws,
                   dashboard, docs):
        app.include_router(module.router)
    # the last added runs first: the gate (key, scope, origin, content type) decides before
    # the body limit reads a byte
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       timeout_s=settings.body_timeout_s)
    app.add_middleware(Gate, keys=app.state.keys, rate_limit=app.state.rate_limit,
                       origins=app.state.origins, max_quantity=settings.max_quantity)
    return app
