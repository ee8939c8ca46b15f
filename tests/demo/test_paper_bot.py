"""The paper execution bot: fill pricing, retries, and exactly-once execution against a real
service — through a Redis consumer group across a crash and restart, through a dead
consumer's claim, and over the signal WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from app.bus_names import PAPER_BOT_GROUP
from app.demo.paper_bot import (
    Delivery,
    KeyRefused,
    Outcome,
    PaperBot,
    SocketSignals,
    StreamSignals,
    paper_fill,
    run_paper_bot,
    ws_url,
)

from .conftest import TEST_REDIS_URL

ORDERS = [300.0, -120.0, 75.0, -40.0, 500.0, -15.0]
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "paper_bot.py"


def a_signal(**fields: Any) -> dict[str, Any]:
    body = {"id": "abc123", "seq": 7, "ts": time.time(), "underlying": "XYZ",
              "instrument": "XYZ", "side": "buy", "quantity": 300.0, "order_qty": 300.0,
              "spot": 100.0, "reason": "band"}
    return {**body, **fields}


def test_a_paper_fill_pays_the_half_spread_under_an_exec_id_derived_from_the_signal():
    buy = paper_fill(a_signal(), half_spread_bps=5.0)
    assert buy == {"exec_id": "paper-abc123", "symbol": "XYZ", "side": "buy",
                   "quantity": 300.0, "price": 100.05, "signal_id": "abc123"}
    sell = paper_fill(a_signal(side="sell", order_qty=-300.0), half_spread_bps=5.0)
    assert sell is not None and sell["price"] == 99.95 and sell["side"] == "sell"
    assert paper_fill(a_signal(), 5.0) == buy  # a replay is the very same fill
    assert paper_fill(a_signal(), 5.0, price=50.0)["price"] == 50.025  # type: ignore[index]
    assert paper_fill(a_signal(spot=None), 5.0) is None


async def test_a_signal_older_than_max_age_is_not_executed():
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer),
                                 base_url="http://svc") as http:
        bot = PaperBot(http, max_age_s=30.0)
        done = await bot.execute(a_signal(ts="2020-01-02T03:04:05Z"))
    assert done.outcome is Outcome.EXPIRED and calls == []


async def test_the_bot_retries_while_the_service_is_not_ready_then_fills():
    answers = [httpx.Response(503, json={"error": "journal"}),
               httpx.Response(200, json={"exec_id": "paper-abc123", "duplicate": False,
                                         "position": {"symbol": "XYZ", "quantity": 300.0}})]

    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda _: answers.pop(0)),
                                 base_url="http://svc") as http:
        done = await PaperBot(http).execute(a_signal())
    assert done.outcome is Outcome.FILLED and answers == []


async def test_a_refused_api_key_stops_the_bot_instead_of_dropping_the_signal():
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(401, json={"error": "key"})),
        base_url="http://svc") as http:
        bot = PaperBot(http)
        with pytest.raises(KeyRefused):
            await bot.execute(a_signal())


async def publish_manual_signals(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    """XYZ valued at $100 and one manual signal per order of ORDERS (units of XYZ)."""
    r = await http.put("/v1/underlyings/XYZ", json={"spot": 100.0, "rate": 0.0,
                                                    "div_yield": 0.0, "vol": 0.2})
    assert r.status_code == 200, r.text
    out = []
    for qty in ORDERS:
        r = await http.post("/v1/hedge/signals", json={"underlying": "XYZ", "order_qty": qty})
        assert r.status_code == 200, r.text
        out.append(r.json())
    return out


async def until(predicate: Callable[[], bool | Awaitable[bool]], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def stream_len(client: aioredis.Redis, stream: str) -> bool:
    return await client.xlen(stream) == len(ORDERS)


async def assert_hedged_exactly_once(http: httpx.AsyncClient) -> None:
    """Every signal filled once: the hedge position is the sum of the orders, nothing is
    pending, and the service applied one fill per signal."""
    risk = (await http.get("/v1/risk/XYZ")).json()
    assert risk["hedge_position"] == sum(ORDERS)
    assert risk["pending"] == 0
    metrics = (await http.get("/metrics")).text
    assert f'dynhedge_fills_total{{outcome="applied"}} {float(len(ORDERS))}' in metrics


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5.0)
    assert done, f"the bot did not stop on cancel: {task.get_stack()}"
    with contextlib.suppress(asyncio.CancelledError):
        await task


class Crash(Exception):
    """The bot dies between a fill and its XACK."""


class CrashingStream(StreamSignals):
    def __init__(self, *args: Any, crash_at: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acks = 0
        self.crash_at = crash_at

    async def ack(self, delivery: Delivery) -> None:
        self.acks += 1
        if self.acks == self.crash_at:
            raise Crash
        await super().ack(delivery)


@pytest.mark.redis
async def test_a_bot_restarted_mid_way_fills_every_signal_exactly_once(
    redis_service: httpx.AsyncClient, redis_client: aioredis.Redis, names: dict[str, str]
):
    http = redis_service
    await publish_manual_signals(http)
    await until(lambda: stream_len(redis_client, names["stream"]))

    first = PaperBot(http)
    crashing = CrashingStream(redis_client, names["stream"], consumer="bot-a", block_ms=100,
                              crash_at=3)
    with pytest.raises(Crash):
        await asyncio.wait_for(run_paper_bot(crashing, first), 10.0)
    assert first.stats.count(Outcome.FILLED) == 3  # the third was filled, never acked

    again = PaperBot(http)
    source = StreamSignals(redis_client, names["stream"], consumer="bot-a", block_ms=100)
    task = asyncio.create_task(run_paper_bot(source, again))
    await until(lambda: again.stats.done == len(ORDERS) - 2)
    await asyncio.sleep(0.2)  # anything more would show up as a repeat
    await stop(task)
    assert again.stats.outcomes == {"duplicate": 1, "filled": len(ORDERS) - 3}
    summary = await redis_client.xpending(names["stream"], PAPER_BOT_GROUP)
    assert summary["pending"] == 0
    await assert_hedged_exactly_once(http)


@pytest.mark.redis
async def test_a_live_bot_claims_what_a_dead_consumer_left_pending(
    redis_service: httpx.AsyncClient, redis_client: aioredis.Redis, names: dict[str, str]
):
    http = redis_service
    stream = names["stream"]
    await publish_manual_signals(http)
    await until(lambda: stream_len(redis_client, stream))
    await StreamSignals(redis_client, stream).ensure_group()
    taken = await redis_client.xreadgroup(PAPER_BOT_GROUP, "dead", {stream: ">"}, count=100)
    assert len(taken[0][1]) == len(ORDERS)  # delivered to "dead", which never answers
    await asyncio.sleep(0.35)

    bot = PaperBot(http)
    source = StreamSignals(redis_client, stream, consumer="alive", claim_idle_s=0.3,
                           block_ms=100)
    task = asyncio.create_task(run_paper_bot(source, bot))
    await until(lambda: bot.stats.done == len(ORDERS))
    await stop(task)
    assert bot.stats.outcomes == {"filled": len(ORDERS)}
    assert (await redis_client.xpending(stream, PAPER_BOT_GROUP))["pending"] == 0
    await assert_hedged_exactly_once(http)


async def test_without_redis_the_bot_trades_the_websocket_and_replays_after_a_restart(
    memory_service: httpx.AsyncClient,
):
    http = memory_service
    url = ws_url(str(http.base_url), "/v1/ws/signals", None)
    connected = asyncio.Event()
    bot = PaperBot(http)
    source = SocketSignals(http, url, after_seq=None, on_connect=connected.set)
    task = asyncio.create_task(run_paper_bot(source, bot))
    await asyncio.wait_for(connected.wait(), 5.0)
    signals = await publish_manual_signals(http)
    await until(lambda: bot.stats.done == len(ORDERS))
    await stop(task)
    assert bot.stats.outcomes == {"filled": len(ORDERS)}

    # a restart from seq 3 executes 4.. again: the service answers each a duplicate
    replay = PaperBot(http)
    task = asyncio.create_task(
        run_paper_bot(SocketSignals(http, url, after_seq=signals[2]["seq"]), replay))
    await until(lambda: replay.stats.done == len(ORDERS) - 3)
    await stop(task)
    assert replay.stats.outcomes == {"duplicate": len(ORDERS) - 3}
    await assert_hedged_exactly_once(http)


@pytest.mark.redis
async def test_the_paper_bot_script_trades_the_stream_and_stops_on_sigterm(
    redis_service: httpx.AsyncClient, names: dict[str, str], tmp_path: Path
):
    http = redis_service
    await publish_manual_signals(http)

    async def hedged() -> bool:
        return bool((await http.get("/v1/risk/XYZ")).json()["hedge_position"] == sum(ORDERS))

    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEDGE_", "PAPER_BOT_"))}
    log_path = tmp_path / "paper_bot.log"
    with log_path.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(SCRIPT), "--url", str(http.base_url), "--redis-url",
            TEST_REDIS_URL, "--stream", names["stream"], "--consumer", "script-bot",
            "--half-spread-bps", "1", env=env, stdout=log_file, stderr=log_file)
    try:
        await until(hedged, timeout_s=30.0)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30.0)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    text = log_path.read_text()
    assert proc.returncode == 0, text
    assert "SIGTERM: stopping" in text and f"stopped: {len(ORDERS)} signals" in text, text
    await assert_hedged_exactly_once(http)
