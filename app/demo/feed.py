"""The demo's market data feed: the simulated market's prices, as ticks over the ingest
WebSocket (`/v1/ws/ingest`, CONTRACT §4), one frame (a list) per step."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from app.demo.market import GbmMarket
from app.demo.signals import raise_if_cancelling
from app.demo.smile import SmileQuoter

log = logging.getLogger("dynhedge.demo.feed")


class TickFeed:
    """Steps `market` `tick_hz` times a wall-clock second, each step `speed / tick_hz` market
    seconds, and sends every underlying's price stamped with the wall clock (epoch s) — and,
    every `quote_every_s`, one underlying's option chain quoted on its smile (`quoter`).
    `ticks_sent` counts tick messages; `rejected` those the service refused."""

    def __init__(self, market: GbmMarket, ingest_url: str, *, tick_hz: float,
                 speed: float, quoter: SmileQuoter | None = None,
                 quote_every_s: float = 0.5) -> None:
        if tick_hz <= 0 or speed <= 0:
            raise ValueError("tick_hz and speed must be positive")
        self.market = market
        self.ingest_url = ingest_url
        self.period_s = 1.0 / tick_hz
        self.step_s = speed / tick_hz
        self.ticks_sent = 0
        self.rejected = 0
        self.quoter = quoter
        self.quote_every = max(1, round(quote_every_s * tick_hz))
        self._steps = 0

    async def run(self) -> None:
        """Send ticks until cancelled; reconnects (with backoff) when the socket drops."""
        backoff = 0.1
        while True:
            try:
                async with connect(self.ingest_url, open_timeout=5, close_timeout=1) as ws:
                    backoff = 0.1
                    reader = asyncio.create_task(self._read_rejections(ws))
                    try:
                        await self._send_steps(ws)
                    finally:
                        reader.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await reader
            except (OSError, WebSocketException) as exc:
                raise_if_cancelling()
                log.warning("tick feed: %s; reconnecting in %.1fs", type(exc).__name__,
                            backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _send_steps(self, ws: ClientConnection) -> None:
        next_at = time.monotonic()
        while True:
            self.market.step(self.step_s)
            ts = time.time()
            frame = self.market.ticks(ts)
            if self.quoter is not None and self._steps % self.quote_every == 0:
                frame.extend(self.quoter.frame(self.market.spots, ts))
            self._steps += 1
            await ws.send(orjson.dumps(frame).decode())
            self.ticks_sent += len(frame)
            next_at += self.period_s
            delay = next_at - time.monotonic()
            if delay < -self.period_s:  # fell behind (a busy machine): skip, do not burst
                next_at = time.monotonic()
                delay = 0.0
            await asyncio.sleep(max(delay, 0.0))
            raise_if_cancelling()

    async def _read_rejections(self, ws: ClientConnection) -> None:
        """The service answers only rejections (no `hello`/`ack` asked): log them."""
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                answer = orjson.loads(raw)
                errors = answer if isinstance(answer, list) else [answer]
                self.rejected += len(errors)
                for e in errors:
                    log.warning("tick rejected: %s", e.get("error"))
