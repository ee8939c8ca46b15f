#!/usr/bin/env python
"""Load test of the whole hedging loop on this machine (loopback only, bounded).

Ticks at a fixed rate over `/v1/ws/ingest` (ack mode) for a book of 50 underlyings × 200
options; a paper bot in its own process reads every signal (the Redis channel, or
`/v1/ws/signals` for a service given by --url) and answers it with `POST /v1/fills`
(`exec_id`, `signal_id`, `symbol` = the signal's instrument, side, quantity, price = spot).
A separate, otherwise idle subscriber process stamps each signal's arrival, so the bot's own
work (HTTP fills) never delays the stamps: tick-to-signal latency = arrival − the tick's send
time (the tick carries it as its `ts`, the signal returns it as its `ts`). Reports that
latency p50/p99/p99.9, fill round trips, errors, and the RSS of the service process at start
and end (VmRSS of /proc/PID/status).

    scripts/loadtest.py --rate 1000 --duration 30            # starts its own service
    scripts/loadtest.py --url http://127.0.0.1:8000 --load-book --rate 500 --duration 10

Bounded: rate × duration ticks (duration ≤ 3,600 s, rate ≤ 500,000/s), then at most
--drain-s for the last signals and fills; every network call has a timeout. With --url the
book is replaced only with --load-book (otherwise the service's own underlyings are ticked
±1 % around their spot).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing as mp
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import orjson

from app.bench.service_e2e import Subscriber, send_paced
from app.bench.service_metrics import histogram, scrape, total
from app.bench.service_stack import (
    REDIS_URL,
    Stack,
    attach,
    cpu_seconds,
    load_average,
    load_book,
    rss_mb,
    service_pid,
    start_service,
    stop_service,
    wait_drained,
)

MAX_DURATION_S = 3_600.0
MAX_RATE = 500_000.0


# --- the paper bot (its own process) ---------------------------------------------------------


def bot_main(cfg: dict[str, Any], ready: Any, stop: Any, out: Any, progress: Any) -> None:
    """Entry point of the bot process: runs until `stop` is set (or its deadline), then
    drains its fills (bounded) and puts one result dict on `out`. `progress` (shared ints):
    [signals received, fills answered]."""
    try:
        result = asyncio.run(_bot(cfg, ready, stop, progress))
    except Exception as exc:  # reported, never hidden
        result = {"fatal": f"{type(exc).__name__}: {exc}"}
    out.put(result)


async def _bot(cfg: dict[str, Any], ready: Any, stop: Any, progress: Any) -> dict[str, Any]:
    fill_rtt: list[float] = []
    counts = {"filled": 0, "duplicate": 0, "rejected": 0, "failed": 0, "dropped": 0}
    errors: list[str] = []
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(cfg["backlog"])
    deadline = time.monotonic() + cfg["max_s"]
    headers = {"X-API-Key": cfg["api_key"]} if cfg["api_key"] else {}
    limits = httpx.Limits(max_connections=cfg["concurrency"],
                          max_keepalive_connections=cfg["concurrency"])

    def note(text: str) -> None:
        if len(errors) < 20:
            errors.append(text)

    async with httpx.AsyncClient(base_url=cfg["base"], headers=headers, timeout=5.0,
                                 limits=limits) as http:

        async def filler() -> None:
            while True:
                sig = await queue.get()
                try:
                    body = {"exec_id": f"lt-{cfg['tag']}-{sig['id']}", "signal_id": sig["id"],
                            "symbol": sig["instrument"], "side": sig["side"],
                            "quantity": sig["quantity"], "price": sig["spot"]}
                    t0 = time.perf_counter()
                    r = await http.post("/v1/fills", json=body)
                    fill_rtt.append(time.perf_counter() - t0)
                    if r.status_code == 200:
                        counts["duplicate" if r.json().get("duplicate") else "filled"] += 1
                    else:
                        counts["rejected"] += 1
                        note(f"fill {r.status_code}: {r.text[:160]}")
                except Exception as exc:
                    counts["failed"] += 1
                    note(f"fill {type(exc).__name__}: {exc}")
                finally:
                    progress[1] += 1
                    queue.task_done()

        workers = [asyncio.create_task(filler()) for _ in range(cfg["concurrency"])]

        def take(raw: bytes | str) -> None:
            sig = orjson.loads(raw)
            progress[0] += 1
            if sig.get("spot") and sig.get("quantity"):
                try:
                    queue.put_nowait(sig)
                except asyncio.QueueFull:
                    counts["dropped"] += 1
                    progress[1] += 1

        if cfg["source"] == "redis":
            import redis.asyncio as aioredis

            client = aioredis.Redis.from_url(cfg["redis_url"], socket_timeout=5)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(cfg["channel"])
            ready.set()
            try:
                while not stop.is_set() and time.monotonic() < deadline:
                    msg = await pubsub.get_message(timeout=0.1)
                    if msg is not None:
                        take(msg["data"])
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
                await client.aclose()
        else:
            from websockets.asyncio.client import connect

            async with connect(cfg["ws_url"], max_size=None, compression=None,
                               open_timeout=10, close_timeout=2) as ws:
                ready.set()
                while not stop.is_set() and time.monotonic() < deadline:
                    try:
                        raw = await asyncio.wait_for(ws.recv(), 0.1)
                    except TimeoutError:
                        continue
                    take(raw)

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(queue.join(), cfg["drain_s"])
        unfinished = queue.qsize()
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return {"fill_rtt_s": fill_rtt, "counts": counts,
            "unfinished_fills": unfinished, "errors": errors}


# --- the run -------------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def _existing_levels(stack: Stack) -> tuple[list[str], dict[str, tuple[float, float]]]:
    with httpx.Client(base_url=stack.base, headers=stack.headers, timeout=10) as http:
        r = http.get("/v1/underlyings")
        r.raise_for_status()
    levels = {}
    for sym, u in r.json().items():
        spot = u.get("spot") or (u.get("last_tick") or {}).get("price")
        if spot:
            levels[sym] = (round(spot * 0.99, 4), round(spot * 1.01, 4))
    if not levels:
        raise SystemExit("the service has no underlying with a spot: pass --load-book")
    return sorted(levels), levels


def _wait_loop_idle(stack: Stack, before: dict[str, Any], progress: Any, timeout_s: float
                    ) -> bool:
    """Until the loop is quiet: the service drained, the bot has received every signal
    produced since `before` and answered every one it took, over two polls (fills make
    recomputes, which may make signals). Bounded by `timeout_s`; True when quiet."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        drained, _ = wait_drained(stack.base, timeout_s=max(0.1, deadline - time.monotonic()))
        m = scrape(stack.base)
        produced = total(m, "dynhedge_signals_total") - total(before, "dynhedge_signals_total")
        state = (produced, progress[0], progress[1])
        if drained and progress[0] >= produced and progress[1] >= progress[0] and state == last:
            return True
        last = state
        time.sleep(0.2)
    return False


def run(args: argparse.Namespace, given: Stack | None = None) -> dict[str, Any]:
    """The load, against a service of its own — or `given`, one a caller started with
    `start_service` (used like its own: Redis channel, the test book; left running)."""
    policy = {"mode": "band", "band": args.band, "max_signals_per_s": args.max_signals_per_s}
    own = args.url is None
    if given is not None:
        stack = given
    else:
        stack = start_service() if own else attach(args.url, args.api_key)
    try:
        source = "redis" if own else "ws"
        cfg = {"base": stack.base, "api_key": args.api_key, "tag": uuid.uuid4().hex[:8],
               "source": source, "redis_url": stack.redis_url, "channel": stack.channel,
               "ws_url": stack.ws_url("/v1/ws/signals"), "concurrency": args.fill_concurrency,
               "backlog": 100_000, "drain_s": args.drain_s,
               "max_s": args.duration + 2 * args.drain_s + 90}
        # the bot listens before the book and policies go in: the signals those first
        # decisions make are filled too (unfilled, they would be hedged again once their
        # pending_ttl_s passed — by the next fill, with a stale tick's ts)
        ctx = mp.get_context("spawn")
        ready, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
        progress = ctx.Array("q", 2, lock=False)  # signals received, fills answered
        bot = ctx.Process(target=bot_main, args=(cfg, ready, stop, out, progress), daemon=True)
        bot.start()
        if not ready.wait(30):
            bot.terminate()
            raise SystemExit("the paper bot did not start")
        at_start = scrape(stack.base)
        levels = None
        if own or args.load_book:
            underlyings = load_book(stack, args.underlyings, args.options, policy)
        else:
            underlyings, levels = _existing_levels(stack)
        pid = service_pid(stack)
        rss_start = rss_mb(pid)
        _wait_loop_idle(stack, at_start, progress, args.drain_s)  # the first decisions, filled
        stamps = Subscriber(stack, max_s=args.duration + 2 * args.drain_s + 60,
                            ws_url=None if own else cfg["ws_url"])
        before = scrape(stack.base)
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        per_frame = args.per_frame or max(1, math.ceil(args.rate / 1_000))
        print(f"sending {args.rate:g} ticks/s for {args.duration:g} s "
              f"({per_frame} per frame) to {stack.base}, {len(underlyings)} underlyings; "
              f"signals from {source}", file=sys.stderr)
        interrupt = threading.Event()
        sent = send_paced(stack, underlyings, args.rate, args.duration, per_frame=per_frame,
                          levels=levels, stop=interrupt)
        cpu1, t1 = cpu_seconds(pid), time.monotonic()
        drained = _wait_loop_idle(stack, before, progress, args.drain_s)
        record = stamps.collect(settle_s=0.2)
        stop.set()
        try:
            bot_result = out.get(timeout=args.drain_s + 30)
        except Exception:
            bot_result = {"fatal": "no result from the paper bot"}
        bot.join(10)
        if bot.is_alive():
            bot.terminate()
        after = scrape(stack.base)
        rss_end = rss_mb(pid)
    finally:
        if own and given is None:
            stop_service(stack)

    lat_ms = [x * 1e3 for x in record["latency_s"]]
    rtt_ms = [x * 1e3 for x in bot_result.get("fill_rtt_s", [])]
    lag = histogram(after, "dynhedge_risk_lag_seconds").minus(
        histogram(before, "dynhedge_risk_lag_seconds"))
    produced = total(after, "dynhedge_signals_total") - total(before, "dynhedge_signals_total")
    return {
        "service": "own (python -m app serve)" if own else stack.base,
        "rate": args.rate, "duration_s": args.duration, "per_frame": sent.ticks and per_frame,
        "ticks_sent": sent.ticks, "ticks_accepted": sent.accepted,
        "ticks_rejected": sent.rejected, "achieved_rate": sent.ticks / max(t1 - t0, 1e-9),
        "sender_max_behind_ms": sent.max_behind_s * 1e3,
        "signals_produced": int(produced), "signals_received": len(lat_ms),
        "drained": drained,
        "tick_to_signal_ms": {"p50": _pct(lat_ms, 0.5), "p99": _pct(lat_ms, 0.99),
                              "p99.9": _pct(lat_ms, 0.999),
                              "max": max(lat_ms) if lat_ms else math.nan},
        "fill_rtt_ms": {"p50": _pct(rtt_ms, 0.5), "p99": _pct(rtt_ms, 0.99)},
        "fills": bot_result.get("counts", {}),
        "unfinished_fills": bot_result.get("unfinished_fills"),
        "risk_lag_ms": {"p99": lag.quantile(0.99) * 1e3, "max_bucket": lag.max_bucket() * 1e3},
        "errors": sent.errors + bot_result.get("errors", []) + (
            [bot_result["fatal"]] if "fatal" in bot_result else []),
        "service_pid": pid, "rss_mib": {"start": rss_start, "end": rss_end},
        "service_cpu_pct": 100.0 * (cpu1 - cpu0) / max(t1 - t0, 1e-9),
        "load_average": load_average(), "cores": os.cpu_count(),
    }


def report(r: dict[str, Any]) -> str:
    t, f = r["tick_to_signal_ms"], r["fills"]
    lines = [
        f"service           {r['service']} (pid {r['service_pid']}); load {r['load_average']}"
        f" on {r['cores']} cores",
        f"ticks             {r['ticks_sent']:,} sent at {r['achieved_rate']:,.0f}/s "
        f"(asked {r['rate']:,.0f}/s, {r['per_frame']} per frame, at most "
        f"{r['sender_max_behind_ms']:.1f} ms behind schedule); accepted "
        f"{r['ticks_accepted']:,}, rejected {r['ticks_rejected']:,}",
        f"signals           {r['signals_received']:,} received of {r['signals_produced']:,} "
        f"produced{'' if r['drained'] else ' (service not drained at the end)'}",
        f"tick -> signal    p50 {t['p50']:.3f} ms   p99 {t['p99']:.3f} ms   "
        f"p99.9 {t['p99.9']:.3f} ms   max {t['max']:.3f} ms",
        f"fills             {f.get('filled', 0):,} filled, {f.get('duplicate', 0)} duplicate, "
        f"{f.get('rejected', 0)} rejected, {f.get('failed', 0)} failed, "
        f"{f.get('dropped', 0)} dropped (bot backlog full), {r['unfinished_fills']} unfinished;"
        f" POST round trip p50 {r['fill_rtt_ms']['p50']:.2f} ms, "
        f"p99 {r['fill_rtt_ms']['p99']:.2f} ms",
        f"risk lag          p99 {r['risk_lag_ms']['p99']:.1f} ms "
        f"(highest bucket hit {r['risk_lag_ms']['max_bucket']:g} ms)",
        f"service           RSS {r['rss_mib']['start']:.1f} MiB at start, "
        f"{r['rss_mib']['end']:.1f} MiB at end; CPU {r['service_cpu_pct']:.0f} % of a core",
        f"errors            {len(r['errors'])}" + "".join(f"\n  - {e}" for e in r["errors"]),
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scripts/loadtest.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=1_000.0, help="ticks per second (1000)")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of ticks (30)")
    p.add_argument("--url", help="an existing service (http://127.0.0.1:PORT); "
                   "default: start one (python -m app serve, Redis at HEDGE_BENCH_REDIS_URL "
                   f"or HEDGE_TEST_REDIS_URL, else {REDIS_URL})")
    p.add_argument("--api-key", help="X-API-Key for --url (trade + admin for --load-book)")
    p.add_argument("--load-book", action="store_true",
                   help="with --url: REPLACE the service's book with the load-test book")
    p.add_argument("--underlyings", type=int, default=50)
    p.add_argument("--options", type=int, default=200, help="options per underlying (≤ 200)")
    p.add_argument("--band", type=float, default=1.0, help="band policy half-width, shares")
    p.add_argument("--max-signals-per-s", type=float, default=1_000.0,
                   help="the policies' throttle per underlying")
    p.add_argument("--per-frame", type=int, default=0,
                   help="ticks per WebSocket frame (default: rate/1000, at least 1)")
    p.add_argument("--fill-concurrency", type=int, default=8)
    p.add_argument("--drain-s", type=float, default=20.0,
                   help="how long to wait for the last signals and fills")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = p.parse_args(argv)
    if not (0 < args.rate <= MAX_RATE):
        p.error(f"--rate must be in (0, {MAX_RATE:g}]")
    if not (0 < args.duration <= MAX_DURATION_S):
        p.error(f"--duration must be in (0, {MAX_DURATION_S:g}]")
    if not (0 < args.drain_s <= 300):
        p.error("--drain-s must be in (0, 300]")
    if not (1 <= args.fill_concurrency <= 64):
        p.error("--fill-concurrency must be in [1, 64]")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    print(report(result))
    if args.json:
        Path(args.json).write_text(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return 0 if not result["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
