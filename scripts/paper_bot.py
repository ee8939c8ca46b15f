#!/usr/bin/env python3
"""A paper execution bot for dynhedge: the example an execution team starts from.

It takes every hedge signal, fills it in full at the signal's spot ± a half-spread, and
posts the fill back with `signal_id` so the service counts it against the signal:

    POST /v1/fills {exec_id: "paper-<signal id>", symbol: <signal instrument>, side,
                    quantity, price, signal_id: <signal id>}

Where signals come from:
- `--redis-url` (or HEDGE_REDIS_URL) set: the Redis stream (HEDGE_SIGNAL_STREAM, default
  `hedge:signals:stream`, field `data`) through the consumer group `paper-bot`. An entry is
  acknowledged (XACK) only once the service has answered its fill; at start the bot re-reads
  what it was delivered but never acknowledged, and it claims (XAUTOCLAIM) what another,
  dead consumer left pending for `--claim-idle-s`.
  With `--shards N` (scaled out, docs/contract.md §17) it reads every shard's own stream
  (`<stream>:{K}`, K = 0..N-1) with the same group, and posts fills to `--url`, the gateway.
- otherwise: the service's WebSocket `/v1/ws/signals` (catching up over REST after a
  reconnect).

No trade lost or repeated across restarts: the exec_id is derived from the signal id and the
service is idempotent on exec_id, so a signal executed again after a crash is answered
`duplicate: true` and changes nothing. Keep `--half-spread-bps` fixed across restarts (a
replay at another price under the same exec_id is refused with 409).

Examples:
    python scripts/paper_bot.py --url http://127.0.0.1:8000 --redis-url redis://127.0.0.1:6379/0
    HEDGE_API_KEY=secret python scripts/paper_bot.py            # WebSocket, from now on
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys

import httpx
import redis.asyncio as aioredis

from app.bus_names import DEFAULT_SIGNAL_STREAM, PAPER_BOT_GROUP
from app.demo.paper_bot import (
    KeyRefused,
    PaperBot,
    SignalSource,
    SocketSignals,
    StreamSignals,
    run_paper_bot,
    ws_url,
)

log = logging.getLogger("paper_bot")
STOP_TIMEOUT_S = 10.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default=env("HEDGE_URL", "http://127.0.0.1:8000"),
                   help="the service (env HEDGE_URL; default %(default)s)")
    p.add_argument("--api-key", default=env("HEDGE_API_KEY"),
                   help="a key with the trade and read scopes (env HEDGE_API_KEY)")
    p.add_argument("--redis-url", default=env("HEDGE_REDIS_URL") or None,
                   help="read signals from Redis (env HEDGE_REDIS_URL); unset: the WebSocket")
    p.add_argument("--stream", default=env("HEDGE_SIGNAL_STREAM", DEFAULT_SIGNAL_STREAM),
                   help="the signal stream (env HEDGE_SIGNAL_STREAM; default %(default)s)")
    p.add_argument("--shards", type=int, default=int(env("HEDGE_SHARDS", "0") or 0),
                   help="read the streams of N shards (env HEDGE_SHARDS; 0: one service)")
    p.add_argument("--group", default=PAPER_BOT_GROUP, help="consumer group (%(default)s)")
    p.add_argument("--consumer", default=env("PAPER_BOT_CONSUMER", socket.gethostname()),
                   help="this bot's consumer name; keep it across restarts (env "
                        "PAPER_BOT_CONSUMER; default the host name)")
    p.add_argument("--claim-idle-s", type=float, default=30.0,
                   help="claim what another consumer left unacknowledged this long (s)")
    p.add_argument("--half-spread-bps", type=float, default=2.0,
                   help="fill this many bps above the spot for a buy, below for a sell")
    p.add_argument("--max-age-s", type=float, default=30.0,
                   help="skip signals older than this (s; their pending has expired in the "
                        "service); 0: execute whatever the age")
    p.add_argument("--after-seq", type=int, default=None,
                   help="WebSocket only: first replay the signals after this seq")
    p.add_argument("--log-level", default=env("HEDGE_LOG_LEVEL", "info"))
    return p.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            httpx.AsyncClient(base_url=args.url, headers=headers, timeout=10.0))
        sources: list[SignalSource] = []
        if args.redis_url:
            client = aioredis.Redis.from_url(args.redis_url, socket_timeout=10.0)
            stack.push_async_callback(client.aclose)
            # shard K's stream is `<stream>:{K}` (docs/contract.md §17)
            streams = ([f"{args.stream}:{{{k}}}" for k in range(args.shards)]
                       if args.shards else [args.stream])
            for stream in streams:  # a blocking read each: one connection per stream
                sources.append(StreamSignals(client, stream, group=args.group,
                                             consumer=args.consumer,
                                             claim_idle_s=args.claim_idle_s))
                log.info("reading %s as %s/%s", stream, args.group, args.consumer)
        else:
            sources.append(SocketSignals(http, ws_url(args.url, "/v1/ws/signals", args.api_key),
                                         after_seq=args.after_seq))
            log.info("reading the service's signal WebSocket")
        bot = PaperBot(http, half_spread_bps=args.half_spread_bps,
                       max_age_s=args.max_age_s or None)
        task = asyncio.create_task(_all(sources, bot), name="paper-bot")
        loop = asyncio.get_running_loop()

        def stop(signum: signal.Signals) -> None:
            # Cancelling anywhere loses nothing: a fill in flight is either not sent, or
            # answered and then executed again on the next start, as a duplicate.
            log.info("%s: stopping", signum.name)
            task.cancel()
            loop.call_later(STOP_TIMEOUT_S, stuck)

        def stuck() -> None:
            log.error("still running %ss after the stop signal; exiting. Tasks:", STOP_TIMEOUT_S)
            for t in asyncio.all_tasks(loop):
                t.print_stack(file=sys.stderr)
            os._exit(1)

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop, signum)
        try:
            await task
        except asyncio.CancelledError:
            pass
        except KeyRefused as exc:
            log.error("the service refused the API key (%s); stopping", exc)
            return 1
        log.info("stopped: %d signals, %s", bot.stats.received, bot.stats.outcomes)
    return 0


async def _all(sources: list[SignalSource], bot: PaperBot) -> None:
    """One bot over every source (each shard's stream), until cancelled or one fails."""
    tasks = [asyncio.create_task(run_paper_bot(s, bot)) for s in sources]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in done:
            t.result()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
