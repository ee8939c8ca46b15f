"""python -m app demo: the service, a simulated market feeding it ticks over the ingest
WebSocket, and a paper execution bot trading its hedge signals — in one process, one loop.

Clean book every run: unless HEDGE_DB_PATH is set, the journal is `var/demo.db`, wiped at
start. With HEDGE_REDIS_URL the bot reads the Redis stream; on a clean book the demo uses its
own stream `hedge:demo:signals:stream` (channel `hedge:demo:signals`), wiped with the
journal, unless HEDGE_SIGNAL_STREAM names another.

On a terminal it draws a live table; when stdout is anything else (a pipe, a file) it prints
plain lines as `--no-ui` does, flushed as they go. Ctrl-C or SIGTERM stops it cleanly, from
its first instant to its last, terminal or not (a second Ctrl-C stops at once); the last line
is `demo: N ticks, M signals, K fills in Ts`, and the exit status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from app.api import logs
from app.demo.board import Board, risk_line
from app.demo.feed import TickFeed
from app.demo.interrupts import STOP_SIGNALS, note_stop_signals, take_noted
from app.demo.market import (
    MAX_UNDERLYINGS,
    GbmMarket,
    band_policy,
    make_book,
    make_underlyings,
)
from app.demo.output import FallbackStdout, Lines, is_terminal
from app.demo.paper_bot import (
    Outcome,
    PaperBot,
    SignalSource,
    SocketSignals,
    StreamSignals,
    run_paper_bot,
    ws_url,
)
from app.demo.service import bind_listener, running_service
from app.demo.smile import SmileQuoter
from app.settings import Settings

log = logging.getLogger("dynhedge.demo")
DEMO_DB_PATH = "var/demo.db"
DEMO_CHANNEL = "hedge:demo:signals"
DEMO_STREAM = "hedge:demo:signals:stream"
UI_REFRESH_S = 0.25
LOG_EVERY_S = 1.0
DRAIN_S = 2.0  # at stop, how long the bot may take to answer the signals already out


@dataclass(frozen=True, slots=True)
class DemoOptions:
    duration_s: float | None
    host: str | None
    port: int | None
    tick_hz: float
    underlyings: int
    options: int
    seed: int
    ui: bool
    speed: float
    band_pct: float
    half_spread_bps: float


@dataclass(frozen=True, slots=True)
class DemoSummary:
    ticks: int
    signals: int
    fills: int
    duplicates: int
    elapsed_s: float

    def line(self) -> str:
        return (f"demo: {self.ticks} ticks, {self.signals} signals, {self.fills} fills "
                f"in {self.elapsed_s:.1f}s")


def parse_args(argv: list[str] | None) -> DemoOptions:
    p = argparse.ArgumentParser(
        prog="python -m app demo",
        description="The service with a simulated market (GBM) and a paper execution bot.")
    p.add_argument("--duration", type=float, metavar="SECONDS",
                   help="run this long, then stop (default: until Ctrl-C)")
    p.add_argument("--host", help="listen address (default HEDGE_HOST)")
    p.add_argument("--port", type=int, help="listen port (default HEDGE_PORT, or any free "
                   "port when that one is taken; 0: any free port)")
    p.add_argument("--tick-hz", type=float, default=4.0,
                   help="price updates per second per underlying (default 4)")
    p.add_argument("--underlyings", type=int, default=4, help="how many (default 4)")
    p.add_argument("--options", type=int, default=300, help="option positions (default 300)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--no-ui", action="store_true", help="plain log lines, no live table")
    p.add_argument("--speed", type=float, default=1800.0,
                   help="market seconds per wall second for price moves (default 1800)")
    p.add_argument("--band-pct", type=float, default=0.3,
                   help="hedge band: the delta a move of this %% of spot makes (default 0.3)")
    p.add_argument("--half-spread-bps", type=float, default=2.0,
                   help="the paper bot fills this many bps through the price (default 2)")
    a = p.parse_args(argv)
    if a.duration is not None and a.duration <= 0:
        p.error("--duration must be positive")
    for name in ("tick_hz", "speed", "band_pct"):
        if getattr(a, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive")
    if a.half_spread_bps < 0:
        p.error("--half-spread-bps must not be negative")
    if not 1 <= a.underlyings <= MAX_UNDERLYINGS:
        p.error(f"--underlyings must be between 1 and {MAX_UNDERLYINGS}")
    if a.options < 1:
        p.error("--options must be at least 1")
    return DemoOptions(a.duration, a.host, a.port, a.tick_hz, a.underlyings, a.options,
                       a.seed, not a.no_ui, a.speed, a.band_pct, a.half_spread_bps)


def demo_settings(base: Settings) -> tuple[Settings, bool]:
    """(settings, clean): the demo's own journal and Redis names unless configured."""
    update: dict[str, Any] = {}
    clean = "db_path" not in base.model_fields_set
    if clean:
        update["db_path"] = DEMO_DB_PATH
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(DEMO_DB_PATH + suffix).unlink(missing_ok=True)
        if "signal_stream" not in base.model_fields_set:
            update["signal_stream"] = DEMO_STREAM
        if "signal_channel" not in base.model_fields_set:
            update["signal_channel"] = DEMO_CHANNEL
    return base.model_copy(update=update), clean


async def prepare_stream(settings: Settings, clean: bool) -> None:
    """A clean journal restarts signal seqs at 1: the stream must not hold older ones (the
    service would take seq 1 as already published). The demo's own stream is wiped; another
    must be empty."""
    if not settings.redis_url or not clean:
        return
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(settings.redis_url, socket_timeout=2.0)
    try:
        if settings.signal_stream == DEMO_STREAM:
            await client.delete(DEMO_STREAM)
        elif await client.xlen(settings.signal_stream):
            raise SystemExit(
                f"demo: stream {settings.signal_stream!r} already holds signals and the demo "
                "starts a clean journal; set HEDGE_DB_PATH to that stream's journal, or "
                "unset HEDGE_SIGNAL_STREAM")
    finally:
        await client.aclose()


def admin_key(settings: Settings) -> str | None:
    """The demo configures the book, so it needs an admin key when keys are on."""
    scopes = settings.key_scopes()
    if not scopes:
        return None
    for key, names in scopes.items():
        if "admin" in names:
            return key
    raise SystemExit("demo: HEDGE_API_KEYS has no admin key; the demo needs one")


async def load_desk(http: httpx.AsyncClient, opts: DemoOptions, rng: np.random.Generator,
                    stale_after_s: float) -> GbmMarket:
    """Underlyings, the option book, then band policies sized on the book's gamma."""
    specs = make_underlyings(rng, opts.underlyings)
    for u in specs:
        (await http.put(f"/v1/underlyings/{u.symbol}", json=u.as_body())).raise_for_status()
    book = make_book(rng, specs, opts.options, datetime.now(UTC).date())
    r = await http.put("/v1/positions", json=book)
    r.raise_for_status()
    risk = (await http.get("/v1/risk")).json()["underlyings"]
    for u in specs:
        gamma = risk.get(u.symbol, {}).get("gamma")
        body = band_policy(gamma, u.spot, opts.band_pct, stale_after_s)
        (await http.put(f"/v1/hedge/policies/{u.symbol}", json=body)).raise_for_status()
    log.info("book: %d underlyings, %d option positions, band policies set", len(specs),
             r.json()["loaded"])
    return GbmMarket(rng, specs)


async def count_signals(http: httpx.AsyncClient) -> int:
    """How many signals the service has published (paging `GET /v1/hedge/signals`)."""
    total, after = 0, 0
    while True:
        page = (await http.get("/v1/hedge/signals",
                               params={"after": after, "limit": 10_000})).json()
        if not page:
            return total
        total += len(page)
        after = int(page[-1]["seq"])


async def run_demo(opts: DemoOptions, settings: Settings, clean: bool,
                   stop: asyncio.Event, out: Lines) -> DemoSummary:
    """Run until `stop` is set or the duration passes; answer the counts. Plain lines go to
    `out`."""
    await prepare_stream(settings, clean)
    host = opts.host or settings.host
    port = settings.port if opts.port is None else opts.port
    sock = bind_listener(host, port, any_free_port=opts.port is None)
    key = admin_key(settings)
    headers = {"X-API-Key": key} if key else {}
    async with running_service(settings, sock) as url, \
            httpx.AsyncClient(base_url=url, headers=headers, timeout=10.0) as http:
        bus = "redis stream " + settings.signal_stream if settings.redis_url else "websocket"
        print(f"demo: service on {url} (API docs {url}/docs), journal {settings.db_path}, "
              f"bot reads signals from the {bus}", file=out)
        board = Board(f"dynhedge demo — {url}")
        market = await load_desk(http, opts, np.random.default_rng(opts.seed),
                                 stale_after_s=max(5.0, 4.0 / opts.tick_hz))
        bot = PaperBot(http, half_spread_bps=opts.half_spread_bps, mark=market.price_of,
                       on_execution=board.record)
        started = time.monotonic()  # the duration counts from the first tick, not start-up
        quoter = SmileQuoter(market.specs, datetime.now(UTC).date())
        feed = TickFeed(market, ws_url(url, "/v1/ws/ingest", key), tick_hz=opts.tick_hz,
                        speed=opts.speed, quoter=quoter)
        async with contextlib.AsyncExitStack() as stack:
            source = await _signal_source(settings, url, key, http, stack)
            bot_task = asyncio.create_task(run_paper_bot(source, bot), name="paper-bot")
            feed_task = asyncio.create_task(feed.run(), name="tick-feed")
            try:
                await _show(opts, board, http, stop, started,
                            lambda: _status(feed.ticks_sent, bot))
            finally:
                await _cancel(feed_task)
                with contextlib.suppress(httpx.HTTPError):
                    await _drain(http, bot)
                await _cancel(bot_task)
            signals = await count_signals(http)
            final = (await http.get("/v1/risk")).json()
        print(f"demo: hedged {risk_line(final)}", file=out)
        return DemoSummary(feed.ticks_sent, signals, bot.stats.count(Outcome.FILLED),
                           bot.stats.count(Outcome.DUPLICATE), time.monotonic() - started)


async def _signal_source(settings: Settings, url: str, key: str | None,
                         http: httpx.AsyncClient,
                         stack: contextlib.AsyncExitStack) -> SignalSource:
    if settings.redis_url:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(settings.redis_url, socket_timeout=5.0)
        stack.push_async_callback(client.aclose)
        return StreamSignals(client, settings.signal_stream, consumer="demo-bot",
                             claim_idle_s=10.0, block_ms=500)
    return SocketSignals(http, ws_url(url, "/v1/ws/signals", key), after_seq=0)


def _status(ticks: int, bot: PaperBot) -> str:
    return (f"ticks {ticks}  signals {bot.stats.received}  "
            f"fills {bot.stats.count(Outcome.FILLED)}")


async def _show(opts: DemoOptions, board: Board, http: httpx.AsyncClient,
                stop: asyncio.Event, started: float, status: Any) -> None:
    """The live table (or a log line a second) until `stop` or the duration."""
    deadline = None if opts.duration_s is None else started + opts.duration_s
    period = UI_REFRESH_S if opts.ui else LOG_EVERY_S
    live = None
    if opts.ui:
        from rich.live import Live

        live = Live(board.render(None, status()), refresh_per_second=4, transient=False)
        live.start()
    try:
        while not stop.is_set():
            left = period if deadline is None else min(period, deadline - time.monotonic())
            if left <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), left)
            try:
                risk = (await http.get("/v1/risk")).json()
                pnl = (await http.get("/v1/pnl")).json() if live is not None else None
            except httpx.HTTPError as exc:
                log.warning("risk: %s", type(exc).__name__)
                continue
            if live is not None:
                live.update(board.render(risk, status(), pnl))
            else:
                log.info("%s | %s", status(), risk_line(risk))
    finally:
        if live is not None:
            live.stop()


async def _drain(http: httpx.AsyncClient, bot: PaperBot) -> None:
    """Give the bot up to DRAIN_S to answer the signals already published."""
    deadline = time.monotonic() + DRAIN_S
    while time.monotonic() < deadline:
        if bot.stats.done >= await count_signals(http):
            return
        await asyncio.sleep(0.05)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5.0)
    if not done:
        log.error("%s did not stop in 5s; leaving it", task.get_name())
        return
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _main(opts: DemoOptions, out: Lines) -> int:
    settings, clean = demo_settings(Settings())
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    main_task = asyncio.current_task()
    running = True

    def on_signal(signum: int) -> None:
        if not running:  # the summary is being written: nothing is left to stop
            return
        if stop.is_set() and main_task is not None:  # a second Ctrl-C: stop now
            main_task.cancel()
            return
        log.warning("%s: stopping", signal.Signals(signum).name)
        stop.set()

    # The loop's handlers stay until asyncio.run closes the loop; then main notes again.
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    for noted in take_noted():  # came while the demo was still loading
        on_signal(noted)
    try:
        summary = (DemoSummary(0, 0, 0, 0, 0.0) if stop.is_set()
                   else await run_demo(opts, settings, clean, stop, out))
    except asyncio.CancelledError:
        running = False
        print("demo: stopped at once", file=out)
        return 130
    running = False
    print(summary.line(), file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    note_stop_signals()  # app.demo.main did already; again for callers that come here directly
    opts = parse_args(argv)
    if opts.ui and not is_terminal(sys.stdout):
        opts = replace(opts, ui=False)  # a pipe or a file: plain lines, never a table
    out = FallbackStdout()
    logs.install()  # the in-process service's records: no API key, no raw client text
    level = logging.INFO if not opts.ui else logging.WARNING
    if opts.ui:
        from rich.logging import RichHandler

        logging.basicConfig(level=level, format="%(name)s: %(message)s",
                            handlers=[RichHandler(show_path=False)])
    else:
        logging.basicConfig(level=level, stream=out,
                            format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    try:
        return asyncio.run(_main(opts, out))
    finally:
        note_stop_signals()  # a signal while the interpreter exits changes nothing
